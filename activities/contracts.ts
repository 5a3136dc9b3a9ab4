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
}

// ---------- escrow (Solana, lease_escrow) ----------
// Amounts are token base units as decimal integer strings. Every escrow activity is idempotent on its key
// (the lease for open and refund, (lease, period) for settlements, (lease, topUpId) for top-ups): a retry
// returns what the first call did and never moves money twice.

export type { ProviderPayout };

export interface OpenEscrowInput {
  leaseId: string;
  customerId: string;
  /** domain/money depositFor(maxPricePerGpuHour, gpuCount, durationSeconds). */
  deposit: string;
  /** domain/billing maxRatePerSecond(maxPricePerGpuHour, gpuCount). */
  maxRatePerSecond: string;
  durationSeconds: number;
}

export interface OpenEscrowResult {
  /** The Lease account (PDA), base58: where a customer finds its escrow to `reclaim` it. */
  address: string;
  deposited: string;
}

export interface SettlePeriodInput {
  leaseId: string;
  /** From 1, strictly increasing per lease; the close takes the next one. */
  period: number;
  /** domain/billing periodPayouts(...).payouts: at most 16, one per provider. */
  payouts: ProviderPayout[];
  /** domain/billing receiptsDigest(...) of the period's receipt hashes (64 hex characters). */
  receiptsDigest: string;
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
}

export type CloseEscrowRecord = SettlementRecord & { refunded: string };

export interface TopUpEscrowInput {
  leaseId: string;
  /** Idempotency key, e.g. the extend update's id: one top-up per id, whatever retries happen. */
  topUpId: string;
  amount: string;
  /** Seconds the lease's end (and its reclaim date) moves back; 0 for money only. */
  extendSeconds: number;
}

export interface TopUpEscrowResult {
  signature: string;
  /** The escrow's deposit and duration after the top-up, as the chain has them. */
  deposited: string;
  durationSeconds: number;
}

export interface EscrowActivities {
  /** The customer's deposit into a new escrow (customer-signed). */
  openEscrow(input: OpenEscrowInput): Promise<OpenEscrowResult>;
  /** One settle transaction paying every provider of the period. */
  settlePeriod(input: SettlePeriodInput): Promise<SettlementRecord>;
  /** The last (partial) period's payouts and the refund of the rest, in one transaction. A lease closes once. */
  closeEscrow(input: SettlePeriodInput): Promise<CloseEscrowRecord>;
  /** More deposit, and with `extendSeconds` a later end (customer-signed). */
  topUpEscrow(input: TopUpEscrowInput): Promise<TopUpEscrowResult>;
  /** A failed start: closes with no payouts, refunding everything; null when no escrow was ever opened. */
  refundUnstartedEscrow(input: { leaseId: string }): Promise<CloseEscrowRecord | null>;
}
