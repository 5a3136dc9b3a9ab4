/**
 * The activity interfaces the lease workflow schedules. Types only: workflows import them with
 * `import type`, workers implement them (control activities in activities/*.activities.ts on
 * `lease-control`, host activities in workers/host-agent on `host-<hostId>`).
 */
import type { ProviderPayout } from '../domain/billing';
import type { AssignmentEndReason, LeaseStatus, ReservedGpu } from '../domain/lease';
import type { ChainTip, ContainerState, ProofReceipt } from '../domain/proof-receipt';
import type { Tier } from '../domain/tier';

export const CONTROL_TASK_QUEUE = 'lease-control';
export const hostTaskQueue = (hostId: string): string => `host-${hostId}`;

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

export interface OpenAssignmentInput {
  assignmentId: string;
  leaseId: string;
  gpu: ReservedGpu;
  rank: number;
  epoch: number;
  startedAt: number;
}

export interface CloseAssignmentInput {
  assignmentId: string;
  endedAt: number;
  endReason: AssignmentEndReason;
}

/** One assignment's receipts for one settlement period, as the workflow got them from the host. */
export interface AssignmentReceipts {
  assignmentId: string;
  epoch: number;
  hostId: string;
  gpuId: string;
  receipts: ProofReceipt[];
}

export interface VerifyPeriodInput {
  leaseId: string;
  period: number;
  /** The period's challenge seed the hosts had to answer. */
  challengeSeed: string;
  proofIntervalMs: number;
  assignments: AssignmentReceipts[];
}

export interface AssignmentVerification {
  assignmentId: string;
  /** Payable milliseconds this batch added. */
  payableMs: number;
  /** Total verified seconds of the assignment so far (floor of all payable ms / 1000). */
  verifiedSeconds: number;
  accepted: number;
  rejected: { seq: number; reason: string }[];
  tip: ChainTip | null;
}

export interface ControlActivities {
  reserveGpus(input: ReserveGpusInput): Promise<ReserveGpusResult>;
  releaseGpus(input: { leaseId: string; gpuIds: string[] }): Promise<void>;
  recordLeaseStatus(change: LeaseStatusChange): Promise<void>;
  openAssignment(input: OpenAssignmentInput): Promise<void>;
  closeAssignment(input: CloseAssignmentInput): Promise<void>;
  /** Verifies signatures, chain, epoch, timing and sampled challenge answers; records what is valid. */
  verifyPeriodReceipts(input: VerifyPeriodInput): Promise<AssignmentVerification[]>;
  markHostLost(input: { hostId: string }): Promise<void>;
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

// ---------- host agent (Docker on the provider's machine) ----------

/** Cluster rendezvous contract every container gets in its environment (DESIGN §2.3). */
export interface Rendezvous {
  rank: number;
  worldSize: number;
  headHost: string;
}

export interface StartContainerInput {
  leaseId: string;
  assignmentId: string;
  epoch: number;
  gpuId: string;
  image: string;
  command?: string[];
  env?: Record<string, string>;
  rendezvous: Rendezvous;
}

export interface StartContainerResult {
  containerId: string;
  /** Unix ms when the container was running. */
  startedAt: number;
}

export interface SuperviseInput {
  leaseId: string;
  assignmentId: string;
  epoch: number;
  gpuId: string;
  period: number;
  /** Unix ms: return the period's receipts at this time. */
  until: number;
  challengeSeed: string;
  proofIntervalMs: number;
  /** Where the chain continues: the last receipt the workflow received, null for a new assignment. */
  chainTip: { seq: number; hash: string } | null;
}

export interface SuperviseResult {
  receipts: ProofReceipt[];
  containerState: ContainerState;
  exitCode?: number;
}

/** What superviseAssignment heartbeats: all receipts of the current call so far. */
export interface SuperviseHeartbeat {
  receipts: ProofReceipt[];
}

export interface StopContainerInput {
  leaseId: string;
  assignmentId: string;
  epoch: number;
}

export interface HostActivities {
  startContainer(input: StartContainerInput): Promise<StartContainerResult>;
  superviseAssignment(input: SuperviseInput): Promise<SuperviseResult>;
  stopContainer(input: StopContainerInput): Promise<void>;
}
