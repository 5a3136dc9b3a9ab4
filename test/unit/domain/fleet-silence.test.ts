import { DEFAULT_MASS_SILENCE, isMassSilence } from '../../../domain/fleet-silence';

describe('isMassSilence', () => {
  it.each([
    [{ hosts: 1000, silent: 501 }, true],
    [{ hosts: 1000, silent: 500 }, false],
    [{ hosts: 1000, silent: 40 }, false],
    [{ hosts: 20, silent: 11 }, true],
    // A small fleet loses hosts one by one, even all of them.
    [{ hosts: 9, silent: 9 }, false],
    [{ hosts: 2, silent: 1 }, false],
    [{ hosts: 0, silent: 0 }, false],
  ])('%o → %s', (count, expected) => {
    expect(isMassSilence(count)).toBe(expected);
  });

  it('follows the policy it is given', () => {
    expect(isMassSilence({ hosts: 10, silent: 3 }, { share: 0.25, minimumSilent: 3 })).toBe(true);
    expect(isMassSilence({ hosts: 10, silent: 3 }, DEFAULT_MASS_SILENCE)).toBe(false);
  });
});
