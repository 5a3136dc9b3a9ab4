/**
 * The network's health as the seed asks for it: revenue from compute sold against the incentives paid to
 * providers for it. Compute sold is the gross of confirmed settlements (what customers paid for verified
 * GPU-seconds); the incentives are what reached the providers, gross minus the treasury's fees and the burn.
 * Pure: the figures come per time bucket from the ledger (infra/db/repositories/network-overview.repo.ts).
 */

/** One bucket of the ledger's confirmed settlements; amounts in base units, decimal strings. */
export interface SettledBucket {
  start: Date;
  computeSold: string;
  paidToProviders: string;
  fees: string;
  burned: string;
}

export interface SettledTotals {
  computeSold: bigint;
  paidToProviders: bigint;
  fees: bigint;
  burned: bigint;
}

const MINUTE_MS = 60_000;

/**
 * The totals of the minute buckets of the last hour at `now`: the minute under way and the 59 before it (a
 * settlement is dated by its confirmation, so the window moves a minute at a time).
 */
export function lastHourTotals(minuteBuckets: readonly SettledBucket[], now: number): SettledTotals {
  const since = Math.floor(now / MINUTE_MS) * MINUTE_MS - 59 * MINUTE_MS;
  const totals: SettledTotals = { computeSold: 0n, paidToProviders: 0n, fees: 0n, burned: 0n };
  for (const bucket of minuteBuckets) {
    if (bucket.start.getTime() < since) continue;
    totals.computeSold += BigInt(bucket.computeSold);
    totals.paidToProviders += BigInt(bucket.paidToProviders);
    totals.fees += BigInt(bucket.fees);
    totals.burned += BigInt(bucket.burned);
  }
  return totals;
}

/**
 * Revenue per unit of incentive: compute sold ÷ paid to providers. lease-engine mints no token, so every payout
 * comes out of a customer's escrow and the ratio is 1 ÷ (1 − fee share − burn share) of the leases settled (a
 * network paying incentives beyond its revenue would read below 1). NaN when nothing was paid: no figure, not 0.
 */
export function revenueToIncentiveRatio(totals: Pick<SettledTotals, 'computeSold' | 'paidToProviders'>): number {
  if (totals.paidToProviders === 0n) return Number.NaN;
  return Number(totals.computeSold) / Number(totals.paidToProviders);
}
