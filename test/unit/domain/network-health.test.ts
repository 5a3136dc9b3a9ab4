import { lastHourTotals, revenueToIncentiveRatio, type SettledBucket } from '../../../domain/network-health';

const minute = (iso: string, computeSold: bigint, feeBps = 500n, burnBps = 100n): SettledBucket => {
  const fees = (computeSold * feeBps) / 10_000n;
  const burned = (computeSold * burnBps) / 10_000n;
  return { start: new Date(iso), computeSold: String(computeSold), paidToProviders: String(computeSold - fees - burned),
    fees: String(fees), burned: String(burned) };
};

describe('network health', () => {
  const now = Date.parse('2026-12-01T12:30:20Z');

  it('sums the minute under way and the 59 before it, nothing older', () => {
    const totals = lastHourTotals([
      minute('2026-12-01T11:30:00Z', 1_000_000n), // 61st minute back: out
      minute('2026-12-01T11:31:00Z', 2_000_000n),
      minute('2026-12-01T12:30:00Z', 3_000_000n),
    ], now);
    expect(totals).toEqual({ computeSold: 5_000_000n, paidToProviders: 4_700_000n, fees: 250_000n, burned: 50_000n });
  });

  it('reads compute sold per unit paid to providers: 1 / (1 - fee - burn share) when customers pay in full', () => {
    const totals = lastHourTotals([minute('2026-12-01T12:10:00Z', 10_000_000n)], now);
    expect(revenueToIncentiveRatio(totals)).toBeCloseTo(1 / 0.94, 12);
  });

  it('has no ratio when nothing was paid, rather than a misleading 0', () => {
    expect(revenueToIncentiveRatio(lastHourTotals([], now))).toBeNaN();
  });

  it('keeps base units exact beyond 2^53 while summing', () => {
    const big = 2n ** 60n;
    const totals = lastHourTotals([minute('2026-12-01T12:00:00Z', big, 0n, 0n), minute('2026-12-01T12:01:00Z', 1n, 0n, 0n)], now);
    expect(totals.computeSold).toBe(big + 1n);
  });
});
