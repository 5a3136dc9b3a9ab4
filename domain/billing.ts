/**
 * Per-second billing of a lease, period by period, that never drifts: each period pays every assignment
 * what its whole verified time costs now minus what it was already billed, so the floor of `costOfSeconds`
 * is taken once on the running total and no base unit is lost or paid twice however the seconds fall into
 * periods. Pure: the lease workflow calls it to build a settlement, the ledger to check one.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { costOfSeconds } from './money';

const SECONDS_PER_HOUR = 3600n;
/** Providers one settlement transaction can pay (the program's MAX_PAYOUTS). */
export const MAX_PROVIDERS_PER_SETTLEMENT = 16;

export class BillingError extends Error {
  override name = 'BillingError';
}

/** What `verifiedSeconds` of one GPU cost at its price, in base units (floor). */
export function amountDue(pricePerGpuHour: bigint, verifiedSeconds: number): bigint {
  return costOfSeconds(pricePerGpuHour, verifiedSeconds);
}

/**
 * The integer max rate the escrow enforces for a lease, rounded up so that paying every GPU at the cap for
 * every elapsed second always fits under it: `ceil(maxPricePerGpuHour × gpuCount / 3600)`.
 */
export function maxRatePerSecond(maxPricePerGpuHour: bigint, gpuCount: number): bigint {
  if (!Number.isSafeInteger(gpuCount) || gpuCount <= 0) throw new BillingError(`gpuCount must be a positive integer (got ${gpuCount})`);
  if (maxPricePerGpuHour < 0n) throw new BillingError('a price cannot be negative');
  return (maxPricePerGpuHour * BigInt(gpuCount) + SECONDS_PER_HOUR - 1n) / SECONDS_PER_HOUR;
}

/** One assignment's standing at the end of a period. Amounts are base units as decimal integer strings. */
export interface BillingLine {
  assignmentId: string;
  providerId: string;
  pricePerGpuHour: string;
  /** All verified seconds of the assignment so far (not only this period's). */
  verifiedSeconds: number;
  /** What the assignment was billed in earlier periods, in total ("0" at first). */
  billed: string;
  /** The verified seconds those earlier periods billed (0 at first): this period's seconds are the difference. */
  billedSeconds: number;
}

export interface ProviderPayout {
  providerId: string;
  /** Gross base units owed for the period (the program takes its fee out of it). */
  amount: string;
  /** Verified seconds the period pays, over all of the provider's assignments. */
  seconds: number;
}

export interface PeriodPayouts {
  /** One per provider with something to pay, sorted by providerId. */
  payouts: ProviderPayout[];
  /** The new cumulative billed amount of every assignment of the input, to pass back next period. */
  billed: Record<string, string>;
  /**
   * The new cumulative billed seconds of every assignment of the input. A provider paid nothing this period
   * (its seconds cost less than one base unit so far) keeps its assignments' seconds unbilled, so they are
   * reported with the payout that finally pays them.
   */
  billedSeconds: Record<string, number>;
}

/**
 * This period's payouts from each assignment's cumulative standing, never more in all than `available` (what the
 * escrow still holds: deposited less everything billed before) when it is given. The program refuses a settlement
 * beyond the deposit (DepositExceeded), and one refused for good would end the lease. Verified seconds can outrun the
 * deposit when the engine falls behind by more than the rolling deposit's window (a period closed minutes late
 * totals minutes of seconds, funded only a window ahead), or when hosts prove past the last second the customer's
 * allowance funded. Then assignments are paid in the order the lease took them on, whole seconds each, until
 * `available` is spent; the seconds left stay unbilled and are paid by a later settlement, once a top-up has funded
 * them, or never, if no money comes.
 */
export function periodPayouts(lines: readonly BillingLine[], available?: bigint): PeriodPayouts {
  const byProvider = new Map<string, { amount: bigint; seconds: number }>();
  const billed: Record<string, string> = {};
  const billedSeconds: Record<string, number> = {};
  const payable = payableSeconds(lines, available);
  for (const line of lines) {
    if (line.assignmentId in billed) throw new BillingError(`assignment ${line.assignmentId} appears twice`);
    const seconds = payable.get(line.assignmentId)!;
    const due = amountDue(integer(line.pricePerGpuHour, 'pricePerGpuHour'), seconds);
    const already = integer(line.billed, 'billed');
    billed[line.assignmentId] = due.toString();
    const sum = byProvider.get(line.providerId) ?? { amount: 0n, seconds: 0 };
    sum.amount += due - already;
    sum.seconds += seconds - line.billedSeconds;
    byProvider.set(line.providerId, sum);
  }
  for (const line of lines) {
    const paid = (byProvider.get(line.providerId)?.amount ?? 0n) > 0n;
    billedSeconds[line.assignmentId] = paid ? payable.get(line.assignmentId)! : line.billedSeconds;
  }
  const payouts = [...byProvider.entries()]
    .filter(([, sum]) => sum.amount > 0n)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([providerId, sum]) => ({ providerId, amount: sum.amount.toString(), seconds: sum.seconds }));
  if (payouts.length > MAX_PROVIDERS_PER_SETTLEMENT) {
    throw new BillingError(`${payouts.length} providers to pay; one settlement pays at most ${MAX_PROVIDERS_PER_SETTLEMENT}`);
  }
  return { payouts, billed, billedSeconds };
}

/**
 * How many of each assignment's verified seconds this bill pays (cumulative): all of them, or, past `available`,
 * as many whole seconds as the money left pays, in the lines' order. Checks each line's standing first.
 */
function payableSeconds(lines: readonly BillingLine[], available: bigint | undefined): Map<string, number> {
  const payable = new Map<string, number>();
  let left = available === undefined ? null : available < 0n ? 0n : available;
  for (const line of lines) {
    if (line.verifiedSeconds < line.billedSeconds) {
      throw new BillingError(`assignment ${line.assignmentId} has ${line.verifiedSeconds} verified seconds, fewer than the ${line.billedSeconds} already billed`);
    }
    const price = integer(line.pricePerGpuHour, 'pricePerGpuHour');
    const already = integer(line.billed, 'billed');
    const due = amountDue(price, line.verifiedSeconds);
    if (due < already) throw new BillingError(`assignment ${line.assignmentId} was billed ${already}, more than the ${due} it owes`);
    if (left === null || due - already <= left) {
      payable.set(line.assignmentId, line.verifiedSeconds);
      if (left !== null) left -= due - already;
      continue;
    }
    // The most seconds s whose cost floor(price × s / 3600) is at most already + left, i.e. price × s < (already +
    // left + 1) × 3600; never fewer than were billed already. (A price of 0 never gets here: it owes nothing.)
    const affordable = Number(((already + left + 1n) * SECONDS_PER_HOUR - 1n) / price);
    const seconds = Math.max(line.billedSeconds, Math.min(line.verifiedSeconds, affordable));
    payable.set(line.assignmentId, seconds);
    left -= amountDue(price, seconds) - already;
  }
  return payable;
}

/**
 * The 32-byte digest a settlement stores on-chain, as 64 lowercase hex characters:
 * `sha256(h_1 ‖ h_2 ‖ … ‖ h_n)` over the raw 32 bytes of the period's receipt hashes, sorted ascending by
 * their lowercase hex. Sorting makes it independent of the order assignments or hosts reported in, so
 * anyone can recompute it from the receipts recorded for the lease and period. No receipts: sha256 of
 * nothing.
 */
export function receiptsDigest(hashes: readonly string[]): string {
  const sorted = hashes.map((hash) => {
    const hex = hash.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new BillingError(`receipt hash "${hash}" is not 32 bytes of hex`);
    return hex;
  }).sort();
  const bytes = new Uint8Array(sorted.length * 32);
  sorted.forEach((hex, i) => bytes.set(hexToBytes(hex), i * 32));
  return bytesToHex(sha256(bytes));
}

function integer(value: string, name: string): bigint {
  if (!/^\d+$/.test(value)) throw new BillingError(`${name} "${value}" is not a non-negative integer of base units`);
  return BigInt(value);
}
