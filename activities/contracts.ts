/**
 * The activity interfaces the lease workflow schedules. Types only: workflows import them with
 * `import type`; the control worker implements them (activities/*.activities.ts) on `lease-control`.
 * Hosts have no activities: they are outside the trust boundary and speak only to the API.
 */
import type { ProviderPayout } from '../domain/billing';
import type { AssignmentEndReason, LeaseStatus, ReservedGpu } from '../domain/lease';
import type { Tier } from '../domain/tier';

export const CONTROL_TASK_QUEUE = 'lease-control';

// ---------- control plane (PostgreSQL) ----------

export interface ReserveGpusInput {
  /** Idempotency key: a retry with the same id returns the GPUs it already took. */
  reservationId: string;
  leaseId: string;
  gpuModel: string;
  count: number;
  /** Worst acceptable tier (tier k or better). */
  minTier: Tier;
  maxPricePerGpuHour: string;
  /** Providers that must not be used (failover: the lost provider). */
  excludeProviderIds: string[];
  /** Only hosts whose last heartbeat is newer than this many seconds are eligible. */
  heartbeatTimeoutSeconds: number;
}

export type ReserveGpusResult =
  | { ok: true; gpus: ReservedGpu[] }
  /** `reason` names what was missing, e.g. "2 free H100 GPUs of tier 1 at ≤ 2.5/h (found 1)". */
  | { ok: false; reason: string; available: number };

export interface LeaseStatusChange {
  leaseId: string;
  status: LeaseStatus;
  endReason?: string;
  /** Unix ms. */
  startedAt?: number;
  endsAt?: number;
  endedAt?: number;
  failoverCount?: number;
}

export interface OpenAssignmentsInput {
  leaseId: string;
  assignments: {
    assignmentId: string;
    gpu: ReservedGpu;
    rank: number;
    epoch: number;
    /** What the host runs: image, command, env and the rendezvous contract. */
    container: { image: string; command?: string[]; env?: Record<string, string>; worldSize: number; headHost: string };
  }[];
  proofIntervalMs: number;
  /** The settlement period the receipts answer now, and its challenge seed. */
  period: number;
  challengeSeed: string;
}

export interface AwaitRunningInput {
  assignmentIds: string[];
  /** Unix ms: a container not reported running by then is not coming (its host is unhealthy). */
  deadline: number;
  /**
   * The lease's heartbeat timeout: given, the deadline moves on by what the fleet as a whole is heard late by,
   * or by this whole timeout while hosts cannot be judged at all (domain/fleet-silence.ts).
   */
  heartbeatTimeoutSeconds?: number;
}

export interface AwaitRunningResult {
  running: { assignmentId: string; runningAt: number }[];
  /** `timedOut`: the host never said; otherwise it reported the container not running (the reason says why). */
  notRunning: { assignmentId: string; hostId: string; timedOut: boolean; reason: string }[];
}

export interface CloseAssignmentInput {
  assignmentId: string;
  endReason: AssignmentEndReason;
  /** Unix ms; absent: at its last accepted receipt (its host's unproven seconds are not paid). */
  endedAt?: number;
}

export interface ClosePeriodInput {
  leaseId: string;
  period: number;
  /** Unix ms the period ended (workflow clock); for operators and the settlement-lag benchmark. */
  endsAt: number;
  /** The next period and its challenge seed; null when the lease ends with this period. */
  next: { period: number; challengeSeed: string } | null;
}

export interface ClosePeriodResult {
  /**
   * The input's period and end, said again: the close runs as a local activity, whose marker in the history keeps
   * its result and not its input, and operators (and the settlement-lag benchmark) read which period it closed there.
   */
  period: number;
  endsAt: number;
  /** The period that starts now, null for a lease's last. */
  nextPeriod: number | null;
  /** Every assignment of the lease, ended ones included: total verified seconds so far. */
  verified: { assignmentId: string; verifiedSeconds: number }[];
  /** domain/billing receiptsDigest of the receipts accepted since the last period closed. */
  receiptsDigest: string;
  receipts: number;
}

export interface HostFault {
  hostId: string;
  assignmentId: string;
  kind: 'start_timeout' | 'start_failed';
  detail: string;
  /** Takes the host out of placement for a while (it took a reservation and never started it). */
  unhealthy: boolean;
}

export interface ControlActivities {
  reserveGpus(input: ReserveGpusInput): Promise<ReserveGpusResult>;
  releaseGpus(input: { leaseId: string; gpuIds: string[] }): Promise<void>;
  recordLeaseStatus(change: LeaseStatusChange): Promise<void>;
  /** Records the assignments; their hosts see them in their desired state. */
  openAssignments(input: OpenAssignmentsInput): Promise<void>;
  awaitContainersRunning(input: AwaitRunningInput): Promise<AwaitRunningResult>;
  /** Ends the assignment: its host must stop the container, and nothing after the end is paid. */
  closeAssignment(input: CloseAssignmentInput): Promise<void>;
  /** Totals the verified seconds the API recorded, digests the period's receipts, starts the next challenge. */
  closePeriod(input: ClosePeriodInput): Promise<ClosePeriodResult>;
  recordHostFault(input: HostFault): Promise<void>;
  /** A warning for the customer in the lease's events (e.g. its allowance runs out); once per key. */
  recordLeaseWarning(input: LeaseWarning): Promise<void>;
}

export interface LeaseWarning {
  leaseId: string;
  /** Idempotency: one event per (lease, key). */
  key: string;
  code: 'funds_low' | 'allowance_exhausted';
  message: string;
  /** Unix ms: when the lease ends unless the customer acts, if known. */
  endsAt: number | null;
}

// ---------- escrow (Solana, lease_escrow) ----------
// Amounts are token base units as decimal integer strings. Every escrow activity is idempotent on its key
// (the lease for open and refund, (lease, period) for settlements and their top-ups): a retry returns what the
// first call did and never moves money twice. The engine holds no customer key: deposits and top-ups are drawn
// through the program from the allowance the customer approved.

export type { ProviderPayout };

export interface OpenEscrowInput {
  leaseId: string;
  customerId: string;
  /** domain/rolling-deposit openingDepositOf(...).deposit: the first funded seconds at the max rate. */
  deposit: string;
  /** domain/billing maxRatePerSecond(maxPricePerGpuHour, gpuCount). */
  maxRatePerSecond: string;
  /** The seconds the deposit buys (the Lease account's duration_seconds at open). */
  durationSeconds: number;
  /** domain/rolling-deposit programWindowSeconds: how far ahead of the chain's clock the deposit may ever reach. */
  windowSeconds: number;
}

export interface OpenEscrowResult {
  /** The Lease account (PDA), base58: where a customer finds its escrow to `reclaim` it. */
  address: string;
  deposited: string;
  /** The seconds the deposit has bought. */
  fundedSeconds: number;
}

export interface SettlePeriodInput {
  leaseId: string;
  /** From 1, strictly increasing per lease; the close takes the next one. */
  period: number;
  /** domain/billing periodPayouts(...).payouts: at most 16, one per provider. */
  payouts: ProviderPayout[];
  /** domain/billing receiptsDigest(...) of the period's receipt hashes (64 hex characters). */
  receiptsDigest: string;
  /**
   * Settle only: the rolling deposit's target (domain/rolling-deposit fundingTarget), in funded seconds. The same
   * transaction tops the escrow up towards it from the allowance, as far as the allowance pays for.
   */
  fundSeconds?: number;
  /** Unix ms: when the period this settles ended (the workflow's clock); the settlement lag is measured from it. */
  periodEndsAt?: number;
}

/** The rolling deposit after a settlement. */
export interface EscrowFunding {
  /** The seconds the deposit has bought (the Lease account's duration_seconds). */
  fundedSeconds: number;
  /** The top-up of this settlement, base units ("0" for none). */
  toppedUp: string;
  /** What the allowance could still fund after it (the smaller of allowance and balance), base units. */
  spendableAfter: string;
  /** The allowance could not pay for the whole target. */
  short: boolean;
}

export interface SettlementPayoutRecord {
  providerId: string;
  tokenAccount: string;
  seconds: number;
  /** gross = net (to the provider) + fee (to the treasury) + burn, as the program split it. */
  gross: string;
  net: string;
  fee: string;
  burn: string;
}

export interface SettlementRecord {
  leaseId: string;
  period: number;
  kind: 'settle' | 'close';
  signature: string;
  receiptsDigest: string;
  payouts: SettlementPayoutRecord[];
  gross: string;
  net: string;
  fee: string;
  burned: string;
  /** Settlements only: where the rolling deposit stands once this settlement's transaction landed. */
  funding?: EscrowFunding;
}

export type CloseEscrowRecord = SettlementRecord & { refunded: string };

export interface EscrowActivities {
  /** The customer's first deposit into a new escrow, drawn from its allowance. */
  openEscrow(input: OpenEscrowInput): Promise<OpenEscrowResult>;
  /**
   * One transaction paying every provider of the period and topping the deposit up (either may be empty; with both
   * empty nothing is sent and `signature` is ""). Throws EscrowReclaimed (final) when the customer reclaimed the escrow.
   */
  settlePeriod(input: SettlePeriodInput): Promise<SettlementRecord>;
  /** The last (partial) period's payouts and the refund of the rest, in one transaction. A lease closes once. */
  closeEscrow(input: SettlePeriodInput): Promise<CloseEscrowRecord>;
  /**
   * A failed start: closes paying what its hosts proved before their assignments ended (`payouts`, none when
   * absent: no container ran) and refunding the rest; null when no escrow was ever opened.
   */
  refundUnstartedEscrow(input: { leaseId: string; payouts?: ProviderPayout[]; receiptsDigest?: string }): Promise<CloseEscrowRecord | null>;
}
