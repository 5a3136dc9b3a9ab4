import { DEFAULT_MASS_SILENCE, isMassSilence, judgeFleet, judgedTimeoutSeconds, startDeadlineExtensionSeconds } from '../../../domain/fleet-silence';

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

describe('judgeFleet', () => {
  const quiet = { hosts: 100, silent: 1, medianSilenceSeconds: 1 };
  const up = { apiUpSeconds: 600, silence: quiet, holdLeftSeconds: 0 };

  it('judges a fleet heard through an API up for a whole timeout, at the timeout', () => {
    expect(judgeFleet(10, up)).toEqual({ heard: true, heldBy: null, timeoutSeconds: 10 });
  });

  it('judges a fleet heard late after its lateness', () => {
    expect(judgeFleet(10, { ...up, silence: { ...quiet, medianSilenceSeconds: 6 } })).toEqual({ heard: true, heldBy: null, timeoutSeconds: 14 });
  });

  it.each([
    ['an API up for less than a timeout', { ...up, apiUpSeconds: 9.9 }, 'api'],
    ['most of the fleet silent at once', { ...up, silence: { hosts: 100, silent: 51, medianSilenceSeconds: 11 } }, 'mass_silence'],
    ['a mass silence that just ended', { ...up, holdLeftSeconds: 0.5 }, 'after_mass_silence'],
  ] as const)('judges nobody after %s', (_what, input, heldBy) => {
    expect(judgeFleet(10, input)).toMatchObject({ heard: false, heldBy });
  });

  it('names the API first: without it the fleet\'s silence says nothing', () => {
    expect(judgeFleet(10, { apiUpSeconds: 0, silence: { hosts: 100, silent: 100, medianSilenceSeconds: 30 }, holdLeftSeconds: 5 }).heldBy).toBe('api');
  });
});

describe('startDeadlineExtensionSeconds', () => {
  it('is nothing for a fleet heard on time, its lateness for one heard late, a whole timeout for one not heard', () => {
    expect(startDeadlineExtensionSeconds(10, { heard: true, heldBy: null, timeoutSeconds: 10 })).toBe(0);
    expect(startDeadlineExtensionSeconds(10, { heard: true, heldBy: null, timeoutSeconds: 14 })).toBe(4);
    expect(startDeadlineExtensionSeconds(10, { heard: true, heldBy: null, timeoutSeconds: 20 })).toBe(10);
    expect(startDeadlineExtensionSeconds(10, { heard: false, heldBy: 'api', timeoutSeconds: 10 })).toBe(10);
    expect(startDeadlineExtensionSeconds(10, { heard: false, heldBy: 'after_mass_silence', timeoutSeconds: 12 })).toBe(10);
  });
});
