/**
 * Putting GPUs under a lease: reservation (with its queue wait), dispatch of one container per GPU,
 * compensation when a start fails, and failover of one rank to another provider.
 */
import { CancellationScope, condition } from '@temporalio/workflow';
import type { AssignmentEndReason, ReservedGpu } from '../domain/lease';
import type { Tier } from '../domain/tier';
import { control, hostActivities } from './activity-stubs';
import { now } from './clock';
import type { AssignmentState, LeaseState } from './lease-state';
import type { PeriodBill } from './escrow';
import { track } from './escrow';
import { setStatus } from './lease-status';
import type { LeaseWorkflowInput } from './messages';

export interface LeaseRun {
  input: LeaseWorkflowInput;
  state: LeaseState;
  /** Set when the lease cannot go on (no replacement found); the main loop closes it as failed. */
  failure: string | null;
  failoversInFlight: number;
  /** True once the terminal status is recorded everywhere: a cancel answers only then. */
  closed: boolean;
  /** True while the deposit is being locked: an extension waits for it, then tops up. */
  escrowOpening: boolean;
  /** The bill of a period that ended the lease (cancel, failure): the close pays it with the refund. */
  finalBill: PeriodBill | null;
}

const RESERVATION_RETRY_MS = 1000;

/**
 * Reserves `count` GPUs all-or-none, waiting for capacity up to the queue timeout.
 * Returns the GPUs, or a reason naming what was missing (or that the lease was cancelled meanwhile).
 */
export async function reserve(
  run: LeaseRun,
  count: number,
  minTier: Tier,
  excludeProviderIds: string[],
): Promise<{ gpus: ReservedGpu[] } | { reason: string }> {
  const { input, state } = run;
  const deadline = now() + input.timings.queueTimeoutSeconds * 1000;
  for (;;) {
    const result = await control.reserveGpus({
      reservationId: `${input.leaseId}-res${++state.reservations}`,
      leaseId: input.leaseId,
      gpuModel: input.spec.gpuModel,
      count,
      minTier,
      maxPricePerGpuHour: input.spec.maxPricePerGpuHour,
      excludeProviderIds,
      heartbeatTimeoutSeconds: input.timings.heartbeatTimeoutSeconds,
    });
    if (result.ok) return { gpus: result.gpus };
    const waitMs = Math.min(RESERVATION_RETRY_MS, deadline - now());
    if (waitMs <= 0) return { reason: `no capacity within ${input.timings.queueTimeoutSeconds} s: ${result.reason}` };
    if (await condition(() => state.cancelRequested, waitMs)) return { reason: 'cancelled while reserving' };
  }
}

function newAssignment(run: LeaseRun, gpu: ReservedGpu, rank: number): AssignmentState {
  const epoch = ++run.state.lastEpoch;
  const assignment: AssignmentState = {
    assignmentId: `${run.input.leaseId}-r${rank}-e${epoch}`,
    rank,
    epoch,
    gpu,
    startedAt: now(),
    verifiedSeconds: 0,
    chainTip: null,
    lastReceiptAt: null,
  };
  if (run.state.escrow) track(run.state.escrow, assignment);
  return assignment;
}

/** Records the assignment, then starts its container (recorded first, so the host's fencing sees it live). */
async function dispatch(run: LeaseRun, assignment: AssignmentState, worldSize: number, headHost: string): Promise<void> {
  const { input } = run;
  await control.openAssignment({
    assignmentId: assignment.assignmentId,
    leaseId: input.leaseId,
    gpu: assignment.gpu,
    rank: assignment.rank,
    epoch: assignment.epoch,
    startedAt: assignment.startedAt,
  });
  try {
    const started = await hostActivities(assignment.gpu.hostId, input.timings).startContainer({
      leaseId: input.leaseId,
      assignmentId: assignment.assignmentId,
      epoch: assignment.epoch,
      gpuId: assignment.gpu.gpuId,
      image: input.spec.image,
      command: input.spec.command,
      env: input.spec.env,
      rendezvous: { rank: assignment.rank, worldSize, headHost },
    });
    assignment.startedAt = started.startedAt;
  } catch (err) {
    await endAssignment(run, assignment, 'start_failed');
    throw err;
  }
}

/** Closes an assignment's record and frees its GPU. Stopping its container is the caller's business. */
export async function endAssignment(
  run: LeaseRun,
  assignment: AssignmentState,
  reason: AssignmentEndReason,
  endedAt: number = now(),
): Promise<void> {
  await control.closeAssignment({ assignmentId: assignment.assignmentId, endedAt, endReason: reason });
  await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: [assignment.gpu.gpuId] });
  run.state.assignments = run.state.assignments.filter((a) => a.assignmentId !== assignment.assignmentId);
}

export async function stopContainer(run: LeaseRun, assignment: AssignmentState): Promise<void> {
  try {
    await hostActivities(assignment.gpu.hostId, run.input.timings).stopContainer({
      leaseId: run.input.leaseId,
      assignmentId: assignment.assignmentId,
      epoch: assignment.epoch,
    });
  } catch {
    // An unreachable host stops the container itself: its next heartbeat no longer lists the assignment as live.
  }
}

/**
 * Starts one container per reserved GPU. All or nothing: if any start fails, the started ones are
 * stopped and every GPU is released (the saga's compensation), and the error names the host.
 */
export async function dispatchAll(run: LeaseRun, gpus: ReservedGpu[]): Promise<string | null> {
  const assignments = gpus.map((gpu, rank) => newAssignment(run, gpu, rank));
  const headHost = gpus[0]?.hostId ?? '';
  const outcomes = await Promise.allSettled(
    assignments.map((a) => dispatch(run, a, gpus.length, headHost)),
  );
  const failed = outcomes.findIndex((o) => o.status === 'rejected');
  if (failed === -1) {
    run.state.assignments = assignments;
    return null;
  }
  const started = assignments.filter((_, i) => outcomes[i]?.status === 'fulfilled');
  await CancellationScope.nonCancellable(async () => {
    await Promise.all(started.map((a) => stopContainer(run, a)));
    await Promise.all(started.map((a) => control.closeAssignment({ assignmentId: a.assignmentId, endedAt: now(), endReason: 'lease_failed' })));
    await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: gpus.map((g) => g.gpuId) });
  });
  const failedOutcome = outcomes[failed] as PromiseRejectedResult;
  return `container start failed on host ${gpus[failed]?.hostId}: ${errorMessage(failedOutcome.reason)}`;
}

/**
 * Replaces a lost assignment with one on another provider of the same or better tier, with the next
 * epoch, so that anything the lost host still sends is fenced off. Returns null when no replacement
 * could be found within the queue timeout (the lease then fails).
 */
export async function failover(run: LeaseRun, lost: AssignmentState, lastProvenAt: number, why: string): Promise<AssignmentState | null> {
  const { input, state } = run;
  run.failoversInFlight++;
  try {
    await setStatus(input, state, 'failing_over');
    await control.markHostLost({ hostId: lost.gpu.hostId });
    await endAssignment(run, lost, 'host_lost', lastProvenAt);
    const excluded = [lost.gpu.providerId];
    for (;;) {
      const found = await reserve(run, 1, lost.gpu.tier, excluded);
      if ('reason' in found) {
        run.failure = `rank ${lost.rank} lost (${why}) and not replaced: ${found.reason}`;
        return null;
      }
      const replacement = newAssignment(run, found.gpus[0] as ReservedGpu, lost.rank);
      const head = state.assignments.find((a) => a.rank === 0)?.gpu.hostId ?? replacement.gpu.hostId;
      try {
        await dispatch(run, replacement, input.spec.gpuCount, head);
      } catch {
        excluded.push(replacement.gpu.providerId);
        continue;
      }
      state.assignments = [...state.assignments, replacement].sort((a, b) => a.rank - b.rank);
      state.failoverCount++;
      return replacement;
    }
  } finally {
    run.failoversInFlight--;
    if (run.failoversInFlight === 0 && state.status === 'failing_over' && !state.cancelRequested && run.failure === null) {
      await setStatus(input, state, 'running');
    }
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
