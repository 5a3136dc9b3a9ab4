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
  /** Null: open-ended (it runs until cancelled, or until the customer's allowance can no longer fund it). */
  durationSeconds: number | null;
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
  /** Seconds of the lease the rolling deposit has bought so far (the Lease account's duration_seconds). */
  fundedSeconds: number;
  /** The warning last given about the allowance, so that it is given once, not every period (null: none, or it recovered). */
  warned: 'funds_low' | 'allowance_exhausted' | null;
  /** Set once the customer reclaimed the escrow on-chain: nothing more can be paid, so the lease ends. */
  reclaimed: boolean;
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
    escrow: { address: null, settlements: 0, billing: {}, fundedSeconds: 0, warned: null, reclaimed: false },
  };
}

/** The lease's fixed end (unix ms), null while it has not started or when it is open-ended. */
export function fixedEndsAt(state: LeaseState): number | null {
  return state.startedAt === null || state.durationSeconds === null ? null : state.startedAt + state.durationSeconds * 1000;
}

/**
 * When the lease ends if nothing changes (unix ms): its fixed end, or, once the customer's allowance could not fund
 * the rolling deposit further, the last second the deposit funded when that comes first. Null while it has not
 * started, and for an open-ended lease whose funding goes on. A funded end merely not reached yet by a late top-up
 * (a loaded or restarted control plane) ends nothing: the next settlement tops up and pays those seconds.
 */
export function endsAt(state: LeaseState): number | null {
  if (state.startedAt === null) return null;
  const funded = state.escrow.warned === 'allowance_exhausted' ? state.escrow.fundedSeconds : null;
  const seconds = funded === null ? state.durationSeconds : state.durationSeconds === null ? funded : Math.min(state.durationSeconds, funded);
  return seconds === null ? null : state.startedAt + seconds * 1000;
}

/** Whether the lease ends where its allowance stopped funding it, not at its fixed duration. */
export function endsForLackOfFunds(state: LeaseState): boolean {
  return state.escrow.warned === 'allowance_exhausted' && (state.durationSeconds === null || state.escrow.fundedSeconds < state.durationSeconds);
}

/** A period shorter than this at the lease's end is not worth a round of supervision: the close pays it. */
export const END_SLACK_MS = 500;

/**
 * Whether the lease's own end (endsAt) is past or less than END_SLACK_MS away. Only its end: a period boundary
 * that near is an ordinary period (a settlement that ran late, past the next boundary but one, lands there).
 */
export function endIsNear(state: LeaseState, now: number): boolean {
  const end = endsAt(state);
  return end !== null && end - now < END_SLACK_MS;
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
    fundedSeconds: state.escrow.fundedSeconds,
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
