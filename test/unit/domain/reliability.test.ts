import type { ReliabilityEvidence } from '../../../domain/reliability';
import { NEW_PROVIDER_SCORE, NO_EVIDENCE, rankByReliability, reliabilityOf } from '../../../domain/reliability';

const evidence = (partial: Partial<ReliabilityEvidence>): ReliabilityEvidence => ({ ...NO_EVIDENCE, ...partial });
const score = (partial: Partial<ReliabilityEvidence>) => reliabilityOf(evidence(partial)).score;

/** An hour of clean service per lease at the default 5 s proof interval. */
const cleanLeases = (n: number): Partial<ReliabilityEvidence> => ({
  leasesCompleted: n,
  receiptsAccepted: 720 * n,
  watchedSeconds: 3600 * n,
  provenSeconds: 3600 * n,
});

describe('reliabilityOf', () => {
  it('gives a provider without a record the prior: 0.75, every factor but staying at 1', () => {
    expect(reliabilityOf(NO_EVIDENCE)).toEqual({ score: 0.75, staying: 0.75, coverage: 1, validity: 1 });
    expect(NEW_PROVIDER_SCORE).toBe(0.75);
  });

  it('ranks a clean record above a new provider, and a longer clean record higher still', () => {
    expect(score(cleanLeases(1))).toBe(0.8);
    expect(score(cleanLeases(10))).toBeCloseTo(0.9286, 4);
    expect(score(cleanLeases(10))).toBeGreaterThan(score(cleanLeases(1)));
  });

  it('ranks a provider whose hosts got lost as often as they completed a lease below a new one', () => {
    // Each lost host: a mark against the host and a failover of the lease it carried.
    const flaky = score({ ...cleanLeases(3), failoversCaused: 3, unhealthyMarks: 3 });
    expect(flaky).toBeCloseTo(0.4615, 4);
    expect(flaky).toBeLessThan(NEW_PROVIDER_SCORE);
  });

  it('costs receipt gaps in proportion to the watched time left unproven, softened by the prior', () => {
    const gappy = reliabilityOf(evidence({ ...cleanLeases(1), provenSeconds: 1800 }));
    expect(gappy.coverage).toBeCloseTo((600 + 1800) / (600 + 3600), 4);
    expect(gappy.score).toBeLessThan(score(cleanLeases(1)));
    // One 10 s gap in a first lease barely moves it.
    expect(score({ ...cleanLeases(1), provenSeconds: 3590 })).toBeCloseTo(0.7981, 4);
  });

  it('costs refused receipts by their share of all receipts sent', () => {
    const r = reliabilityOf(evidence({ ...cleanLeases(1), receiptsRejected: 820 }));
    expect(r.validity).toBe(0.5);
    expect(r.score).toBe(0.4);
  });

  it('counts an unhealthy mark without a lease on the host against the provider too', () => {
    expect(score({ unhealthyMarks: 1 })).toBe(0.6);
  });

  it('stays within (0, 1] whatever the evidence, however absurd', () => {
    const cases: Partial<ReliabilityEvidence>[] = [
      { leasesCompleted: 1e12, receiptsAccepted: 1e15, watchedSeconds: 1e12, provenSeconds: 1e12 },
      { failoversCaused: 1e9, unhealthyMarks: 1e9, receiptsRejected: 1e12, watchedSeconds: 1e12 },
      { leasesCompleted: -5, failoversCaused: -1, provenSeconds: 1e9, watchedSeconds: 10 },
      { leasesCompleted: Number.NaN, receiptsAccepted: Number.POSITIVE_INFINITY, watchedSeconds: Number.NaN },
    ];
    for (const c of cases) {
      const r = reliabilityOf(evidence(c));
      for (const value of [r.score, r.staying, r.coverage, r.validity]) {
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
    // Proven time above watched time (impossible in the database) is clamped, not rewarded.
    expect(reliabilityOf(evidence({ provenSeconds: 1e9, watchedSeconds: 10 })).coverage).toBe(1);
  });

  it('only ever falls when bad evidence is added', () => {
    const base = cleanLeases(4);
    const before = score(base);
    expect(score({ ...base, failoversCaused: 1 })).toBeLessThan(before);
    expect(score({ ...base, unhealthyMarks: 1 })).toBeLessThan(before);
    expect(score({ ...base, receiptsRejected: 10 })).toBeLessThan(before);
    expect(score({ ...base, watchedSeconds: 3600 * 4 + 60 })).toBeLessThan(before);
  });
});

describe('rankByReliability', () => {
  it('puts the highest score first and breaks equal scores by id, whatever the input order', () => {
    const scores = new Map([
      ['p-flaky', 0.46],
      ['p-new-b', 0.75],
      ['p-clean', 0.93],
      ['p-new-a', 0.75],
    ]);
    expect(rankByReliability(scores)).toEqual(['p-clean', 'p-new-a', 'p-new-b', 'p-flaky']);
    expect(rankByReliability(new Map([...scores].reverse()))).toEqual(['p-clean', 'p-new-a', 'p-new-b', 'p-flaky']);
  });
});
