/**
 * The lease workflow's one explicit state object, and pure functions over it. It is what
 * continue-as-new carries to the next run, so it holds only plain data.
 */
import type { BillingLine } from '../domain/billing';
import type { LeaseStatus, ReservedGpu } from '../domain/lease';
import type { LeaseSnapshot, LeaseWorkflowInput } from './messages';

export interface AssignmentState {
  assignmentId: string;
  rank: number;
  epoch: number;
  gpu: ReservedGpu;
  /** Unix ms when it was dispatched (workflow clock). */
  startedAt: number;
  /** As the API verified them on arrival, read at the last period close. */
  verifiedSeconds: number;
}

export interface LeaseState {
  status: LeaseStatus;
  endReason: string | null;
  durationSeconds: number;
  /** Unix ms when every container was running; billing time starts here. */
  startedAt: number | null;
  /** Index of the current settlement period. */
  period: number;
  /** The current period's challenge seed: hosts answer it in their receipts, so none can be signed ahead. */
  challengeSeed: string;
  /** Live assignments, one per rank. */
  assignments: AssignmentState[];
  failoverCount: number;
  /** Epochs are unique within a lease: every (re)dispatch takes the next one, so fencing can compare them. */
  lastEpoch: number;
  /** Every reservation of the lease gets its own id, which makes reserveGpus retries idempotent. */
  reservations: number;
  cancelRequested: boolean;
  /** The lease's money on Solana. */
  escrow: EscrowState;
}

export interface EscrowState {
  /** The Lease account, once the deposit is locked. */
  address: string | null;
  /** On-chain settlement periods used so far (each settlement and the close take the next). */
  settlements: number;
  /** Every assignment's billing standing, ended ones included until their last second is paid. */
  billing: Record<string, BillingLine>;
  /** Top-ups made by extensions: the next one's idempotency key. */
  topUps: number;
}

export function initialState(input: LeaseWorkflowInput, challengeSeed: string): LeaseState {
  return {
    status: 'reserving',
    endReason: null,
    durationSeconds: input.spec.durationSeconds,
    startedAt: null,
    period: 0,
    challengeSeed,
    assignments: [],
    failoverCount: 0,
    lastEpoch: 0,
    reservations: 0,
    cancelRequested: false,
    escrow: { address: null, settlements: 0, billing: {}, topUps: 0 },
  };
}

export function endsAt(state: LeaseState): number | null {
  return state.startedAt === null ? null : state.startedAt + state.durationSeconds * 1000;
}

/**
 * End of the settlement period that starts now: the next multiple of the period length after the
 * start, cut at the lease's end. Periods are aligned to the start so that extensions and
 * continue-as-new never shift them.
 */
export function periodEnd(state: LeaseState, now: number, periodSeconds: number): number {
  const start = state.startedAt ?? now;
  const length = periodSeconds * 1000;
  const boundary = start + (Math.floor((now - start) / length) + 1) * length;
  return Math.min(boundary, endsAt(state) ?? boundary);
}

export function providerIds(state: LeaseState): string[] {
  return [...new Set(state.assignments.map((a) => a.gpu.providerId))].sort();
}

/** The worst tier the lease is running on now (the tier an operator filters on), or the one it asked for. */
export function runningTier(state: LeaseState, requested: number): number {
  return state.assignments.reduce((worst, a) => Math.max(worst, a.gpu.tier), state.assignments.length ? 1 : requested);
}

export function snapshot(leaseId: string, state: LeaseState): LeaseSnapshot {
  return {
    leaseId,
    status: state.status,
    endReason: state.endReason,
    durationSeconds: state.durationSeconds,
    startedAt: state.startedAt,
    endsAt: endsAt(state),
    failoverCount: state.failoverCount,
    period: state.period,
    assignments: state.assignments.map((a) => ({
      assignmentId: a.assignmentId,
      gpuId: a.gpu.gpuId,
      hostId: a.gpu.hostId,
      providerId: a.gpu.providerId,
      tier: a.gpu.tier,
      rank: a.rank,
      epoch: a.epoch,
      verifiedSeconds: a.verifiedSeconds,
    })),
  };
}
