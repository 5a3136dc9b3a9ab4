import { DEFAULT_MASS_SILENCE, isMassSilence, isMassUnproven, judgeFleet, judgedTimeoutSeconds, startDeadlineExtensionSeconds } from '../../../domain/fleet-silence';

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

describe('a mass silence is shared by the providers', () => {
  it('is not one provider\'s alone, however much of the fleet it holds', () => {
    // One provider with 600 of 1,000 hosts goes silent; the other 400 report on time.
    expect(isMassSilence({ hosts: 1000, silent: 600, medianSilenceSeconds: 0, byProvider: [{ total: 600, late: 600 }] })).toBe(false);
    // The same 600 silent, plus 3 of the others: the rest of the fleet is still heard.
    expect(isMassSilence({ hosts: 1000, silent: 603, medianSilenceSeconds: 0,
      byProvider: [{ total: 600, late: 600 }, { total: 100, late: 3 }] })).toBe(false);
  });

  it('holds when every provider is silent at once, as the engine\'s own failure makes them', () => {
    const tenProviders = Array.from({ length: 10 }, () => ({ total: 100, late: 90 }));
    expect(isMassSilence({ hosts: 1000, silent: 900, medianSilenceSeconds: 0, byProvider: tenProviders })).toBe(true);
    // Most of the rest silent too, whichever provider is left out.
    expect(isMassSilence({ hosts: 1000, silent: 800, medianSilenceSeconds: 0,
      byProvider: [{ total: 600, late: 600 }, { total: 400, late: 200 }] })).toBe(false);
    expect(isMassSilence({ hosts: 1000, silent: 801, medianSilenceSeconds: 0,
      byProvider: [{ total: 600, late: 600 }, { total: 400, late: 201 }] })).toBe(true);
  });

  it('keeps the plain rule for a fleet of one provider: there is no one to compare with', () => {
    expect(isMassSilence({ hosts: 40, silent: 30, medianSilenceSeconds: 0, byProvider: [{ total: 40, late: 30 }] })).toBe(true);
  });

  it('applies to receipts withheld by one provider', () => {
    expect(isMassUnproven({ running: 300, unproven: 200, medianLatenessSeconds: 0, byProvider: [{ total: 200, late: 200 }] })).toBe(false);
    expect(isMassUnproven({ running: 300, unproven: 200, medianLatenessSeconds: 0,
      byProvider: [{ total: 150, late: 100 }, { total: 150, late: 100 }] })).toBe(true);
  });
});

describe('isMassUnproven', () => {
  it.each([
    [{ running: 300, unproven: 151 }, true],
    [{ running: 300, unproven: 150 }, false],
    [{ running: 20, unproven: 11 }, true],
    [{ running: 9, unproven: 9 }, false],
    [{ running: 0, unproven: 0 }, false],
  ])('%o → %s', (count, expected) => {
    expect(isMassUnproven({ ...count, medianLatenessSeconds: 0 })).toBe(expected);
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
    expect(judgeFleet(10, up)).toEqual({ heard: true, heldBy: null, timeoutSeconds: 10, proofTimeoutSeconds: 10 });
  });

  it('judges a fleet heard late after its lateness', () => {
    expect(judgeFleet(10, { ...up, silence: { ...quiet, medianSilenceSeconds: 6 } })).toEqual({ heard: true, heldBy: null, timeoutSeconds: 14,
      proofTimeoutSeconds: 14 });
  });

  it('gives receipts late all together their median lateness more, and never less than the hosts get', () => {
    const proofs = { running: 100, unproven: 3, medianLatenessSeconds: 1 };
    expect(judgeFleet(10, { ...up, proofs })).toMatchObject({ heard: true, timeoutSeconds: 10, proofTimeoutSeconds: 10 });
    // Reports back before their receipts: the hosts are on time, the receipts 7 s late at the median.
    expect(judgeFleet(10, { ...up, proofs: { ...proofs, medianLatenessSeconds: 7 } })).toMatchObject({ heard: true, timeoutSeconds: 10,
      proofTimeoutSeconds: 15 });
    expect(judgeFleet(10, { ...up, silence: { ...quiet, medianSilenceSeconds: 6 }, proofs })).toMatchObject({ proofTimeoutSeconds: 14 });
    // A few running assignments: their median may be the dead one's.
    expect(judgeFleet(10, { ...up, proofs: { running: 5, unproven: 2, medianLatenessSeconds: 30 } })).toMatchObject({ proofTimeoutSeconds: 10 });
  });

  it('judges nobody while most running assignments miss their receipts at once, though the hosts report', () => {
    expect(judgeFleet(10, { ...up, proofs: { running: 100, unproven: 51, medianLatenessSeconds: 11 } })).toMatchObject({ heard: false,
      heldBy: 'mass_silence' });
    expect(judgeFleet(10, { ...up, proofs: { running: 100, unproven: 50, medianLatenessSeconds: 11 } })).toMatchObject({ heard: true });
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
    const judged = (heard: boolean, heldBy: 'api' | 'after_mass_silence' | null, timeoutSeconds: number) =>
      ({ heard, heldBy, timeoutSeconds, proofTimeoutSeconds: timeoutSeconds });
    expect(startDeadlineExtensionSeconds(10, judged(true, null, 10))).toBe(0);
    expect(startDeadlineExtensionSeconds(10, judged(true, null, 14))).toBe(4);
    expect(startDeadlineExtensionSeconds(10, judged(true, null, 20))).toBe(10);
    expect(startDeadlineExtensionSeconds(10, judged(false, 'api', 10))).toBe(10);
    expect(startDeadlineExtensionSeconds(10, judged(false, 'after_mass_silence', 12))).toBe(10);
  });
});
