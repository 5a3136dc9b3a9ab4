import {
  depositForSeconds,
  fundedSpanSeconds,
  fundingTarget,
  fundsRunningLow,
  openingFunding,
  planTopUp,
  programWindowSeconds,
  RollingDepositError,
} from '../../../domain/rolling-deposit';

describe('the rolling deposit', () => {
  it('holds the current period and the next K, and lets the program allow one period of clock slack', () => {
    expect(fundedSpanSeconds(60, 2)).toBe(180);
    expect(programWindowSeconds(60, 2)).toBe(240);
    expect(() => fundedSpanSeconds(60, 0)).toThrow(RollingDepositError);
    expect(() => fundedSpanSeconds(0, 2)).toThrow(RollingDepositError);
  });

  it('opens with the span, or the whole fixed duration when it is shorter', () => {
    expect(openingFunding(7n, 180, null)).toEqual({ seconds: 180, deposit: 1_260n });
    expect(openingFunding(7n, 180, 100)).toEqual({ seconds: 100, deposit: 700n });
  });

  it('aims K + 1 periods past the period just settled, never past a fixed duration', () => {
    expect(fundingTarget(60, 180, null)).toBe(240);
    expect(fundingTarget(60, 180, 200)).toBe(200);
    expect(() => fundingTarget(-1, 180, null)).toThrow(RollingDepositError);
  });

  it('tops up to the target at the max rate when the allowance pays for it', () => {
    expect(planTopUp({ maxRatePerSecond: 7n, fundedSeconds: 180, targetSeconds: 240, spendable: 10_000n }))
      .toEqual({ extendSeconds: 60, amount: 420n, fundedSeconds: 240, short: false });
  });

  it('buys only the whole seconds the allowance pays for, and says it fell short', () => {
    expect(planTopUp({ maxRatePerSecond: 7n, fundedSeconds: 180, targetSeconds: 240, spendable: 100n }))
      .toEqual({ extendSeconds: 14, amount: 98n, fundedSeconds: 194, short: true });
    expect(planTopUp({ maxRatePerSecond: 7n, fundedSeconds: 180, targetSeconds: 240, spendable: 0n }))
      .toEqual({ extendSeconds: 0, amount: 0n, fundedSeconds: 180, short: true });
  });

  it('never draws for a target already funded', () => {
    expect(planTopUp({ maxRatePerSecond: 7n, fundedSeconds: 240, targetSeconds: 200, spendable: 10_000n }))
      .toEqual({ extendSeconds: 0, amount: 0n, fundedSeconds: 240, short: false });
  });

  it('warns when what is left cannot pay the next period, unless the fixed duration is already funded', () => {
    const base = { maxRatePerSecond: 7n, periodSeconds: 60, fundedSeconds: 240, durationSeconds: null, short: false };
    expect(fundsRunningLow({ ...base, spendableAfter: 420n })).toBe(false);
    expect(fundsRunningLow({ ...base, spendableAfter: 419n })).toBe(true);
    expect(fundsRunningLow({ ...base, spendableAfter: 10_000n, short: true })).toBe(true);
    expect(fundsRunningLow({ ...base, spendableAfter: 0n, durationSeconds: 240 })).toBe(false);
  });

  it('refuses a rate or seconds that cannot buy anything', () => {
    expect(() => depositForSeconds(0n, 10)).toThrow(RollingDepositError);
    expect(() => depositForSeconds(1n, 1.5)).toThrow(RollingDepositError);
  });
});
