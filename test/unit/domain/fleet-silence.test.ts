import { DEFAULT_MASS_SILENCE, isMassSilence, judgedTimeoutSeconds } from '../../../domain/fleet-silence';

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
    expect(isMassSilence({ ...count, medianSilenceSeconds: 0 })).toBe(expected);
  });

  it('follows the policy it is given', () => {
    expect(isMassSilence({ hosts: 10, silent: 3, medianSilenceSeconds: 1 }, { share: 0.25, minimumSilent: 3 })).toBe(true);
    expect(isMassSilence({ hosts: 10, silent: 3, medianSilenceSeconds: 1 }, DEFAULT_MASS_SILENCE)).toBe(false);
  });
});

describe('judgedTimeoutSeconds', () => {
  it.each([
    // A healthy fleet (reports every 2 s: median about 1 s) is judged at the timeout itself.
    [10, 0, 10],
    [10, 1, 10],
    [10, 2.5, 10],
    // A fleet behind by its median: that much more, in whole seconds, up to a second timeout.
    [10, 2.6, 11],
    [10, 8.5, 16],
    [30, 20, 43],
    [10, 40, 20],
  ])('timeout %d s, median silence %d s → %d s', (timeout, median, judged) => {
    expect(judgedTimeoutSeconds(timeout, { hosts: 1000, medianSilenceSeconds: median })).toBe(judged);
  });

  it('leaves a small fleet at the timeout: its median host may be the dead one', () => {
    expect(judgedTimeoutSeconds(4, { hosts: 1, medianSilenceSeconds: 30 })).toBe(4);
    expect(judgedTimeoutSeconds(4, { hosts: 19, medianSilenceSeconds: 30 })).toBe(4);
    expect(judgedTimeoutSeconds(4, { hosts: 20, medianSilenceSeconds: 30 })).toBe(8);
  });
});
