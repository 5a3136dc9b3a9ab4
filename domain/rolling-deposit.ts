/**
 * The rolling deposit (DESIGN §2 step 2): a lease's escrow holds the current settlement period plus the next K at
 * the lease's max rate, and each period's settlement tops it up from the customer's allowance, in the same
 * transaction. Customers buy no large blocks ahead; the most a lease can ever draw ahead of time is its window.
 * Amounts are base units (bigint), seconds are whole seconds. Pure: the workflow plans with it, the escrow
 * activities apply it, and the program enforces the same bounds (programs/lease_escrow top_up).
 */

export class RollingDepositError extends Error {
  override name = 'RollingDepositError';
}

/** K when the configuration says nothing. */
export const DEFAULT_DEPOSIT_WINDOW_PERIODS = 2;

/** Seconds the escrow aims to hold ahead: the current period and the next K. */
export function fundedSpanSeconds(periodSeconds: number, windowPeriods: number): number {
  positive('periodSeconds', periodSeconds);
  if (!Number.isSafeInteger(windowPeriods) || windowPeriods < 1) {
    // With K = 0 the escrow would run dry at each period's end, before its settlement could top it up.
    throw new RollingDepositError(`the deposit window must be at least 1 period (got ${windowPeriods})`);
  }
  return (windowPeriods + 1) * periodSeconds;
}

/**
 * The window the program enforces (Lease.window_seconds): how far past the chain's clock a top-up may push the
 * lease's end. One period above the span the engine aims for, so that a chain clock a little behind ours never
 * refuses a top-up the engine planned.
 */
export function programWindowSeconds(periodSeconds: number, windowPeriods: number): number {
  return fundedSpanSeconds(periodSeconds, windowPeriods) + periodSeconds;
}

/**
 * Seconds the escrow should have bought once the period ending `elapsedSeconds` after the lease's start is settled:
 * up to the end of the next K + 1 periods, never past a fixed duration.
 */
export function fundingTarget(elapsedSeconds: number, span: number, durationSeconds: number | null): number {
  if (!Number.isSafeInteger(elapsedSeconds) || elapsedSeconds < 0) throw new RollingDepositError(`elapsedSeconds ${elapsedSeconds} is not a whole number of seconds`);
  const target = elapsedSeconds + span;
  return durationSeconds === null ? target : Math.min(target, durationSeconds);
}

/** The deposit that buys `seconds` at the lease's max rate (the program refuses more). */
export function depositForSeconds(maxRatePerSecond: bigint, seconds: number): bigint {
  if (maxRatePerSecond <= 0n) throw new RollingDepositError('the max rate must be positive');
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RollingDepositError(`seconds ${seconds} is not a whole number`);
  return maxRatePerSecond * BigInt(seconds);
}

/** What the escrow holds at open: the funded span, or the whole fixed duration when it is shorter. */
export function openingFunding(maxRatePerSecond: bigint, span: number, durationSeconds: number | null): { seconds: number; deposit: bigint } {
  const seconds = durationSeconds === null ? span : Math.min(span, durationSeconds);
  positive('the opening funded seconds', seconds);
  return { seconds, deposit: depositForSeconds(maxRatePerSecond, seconds) };
}

export interface TopUpPlan {
  /** Seconds added to the lease's end (0: no top-up). */
  extendSeconds: number;
  amount: bigint;
  /** The funded seconds after the top-up. */
  fundedSeconds: number;
  /** Whether the allowance fell short of the target (the lease ends at `fundedSeconds` unless it is raised). */
  short: boolean;
}

/**
 * The top-up that brings the escrow from `fundedSeconds` to `targetSeconds`, as far as `spendable` (what the
 * allowance and the balance both allow) pays for whole seconds at the max rate.
 */
export function planTopUp(p: { maxRatePerSecond: bigint; fundedSeconds: number; targetSeconds: number; spendable: bigint }): TopUpPlan {
  if (p.maxRatePerSecond <= 0n) throw new RollingDepositError('the max rate must be positive');
  const wanted = Math.max(0, p.targetSeconds - p.fundedSeconds);
  const affordable = p.spendable <= 0n ? 0n : p.spendable / p.maxRatePerSecond;
  const extendSeconds = affordable >= BigInt(wanted) ? wanted : Number(affordable);
  return {
    extendSeconds,
    amount: depositForSeconds(p.maxRatePerSecond, extendSeconds),
    fundedSeconds: p.fundedSeconds + extendSeconds,
    short: extendSeconds < wanted,
  };
}

/**
 * Whether the customer should be told that its money runs out: the allowance left after this period's top-up does
 * not pay for the next period's, so the lease will end at the last funded second unless the allowance is raised.
 */
export function fundsRunningLow(p: { maxRatePerSecond: bigint; periodSeconds: number; spendableAfter: bigint; fundedSeconds: number;
  durationSeconds: number | null; short: boolean }): boolean {
  if (p.durationSeconds !== null && p.fundedSeconds >= p.durationSeconds) return false;
  return p.short || p.spendableAfter < depositForSeconds(p.maxRatePerSecond, p.periodSeconds);
}

function positive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RollingDepositError(`${name} must be a positive whole number (got ${value})`);
}

/**
 * The deposit a lease request locks at open: its max rate (domain/billing maxRatePerSecond) for the funded span, or
 * its whole fixed duration when shorter. POST /v1/leases checks the allowance against it; the workflow opens with it.
 */
export function openingDepositOf(p: { maxRatePerSecond: bigint; periodSeconds: number; windowPeriods: number; durationSeconds: number | null }): {
  seconds: number;
  deposit: bigint;
} {
  return openingFunding(p.maxRatePerSecond, fundedSpanSeconds(p.periodSeconds, p.windowPeriods), p.durationSeconds);
}
