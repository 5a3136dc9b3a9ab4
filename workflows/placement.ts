/**
 * Putting GPUs under a lease: reservation (with its queue wait), dispatch through the hosts' desired
 * state, replacement of a host that does not start its container, and failover of a lost rank to
 * another provider. The workflow never talks to a host: it records what each must run and reads what
 * the hosts reported to the API.
 */
import { CancellationScope, condition } from '@temporalio/workflow';
import type { AssignmentEndReason, ReservedGpu } from '../domain/lease';
import type { Tier } from '../domain/tier';
import { control, dispatchWatch } from './activity-stubs';
import { now } from './clock';
import { track } from './escrow';
import type { AssignmentState, LeaseState } from './lease-state';
import { setStatus } from './lease-status';
import type { AssignmentFault, LeaseWorkflowInput } from './messages';

export interface LeaseRun {
  input: LeaseWorkflowInput;
  state: LeaseState;
  /** Set when the lease cannot go on (no replacement found); the main loop closes it as failed. */
  failure: string | null;
  /** Faults the fleet monitor reported and the main loop has yet to handle, oldest first. */
  faults: AssignmentFault[];
  /** True once the terminal status is recorded everywhere: a cancel answers only then. */
  closed: boolean;
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
  };
  track(run.state.escrow, assignment);
  return assignment;
}

/** Ends an assignment's record (its host must stop the container) and frees its GPU. */
export async function endAssignment(
  run: LeaseRun,
  assignment: AssignmentState,
  reason: AssignmentEndReason,
  endedAt?: number,
): Promise<void> {
  await control.closeAssignment({ assignmentId: assignment.assignmentId, endReason: reason, ...(endedAt !== undefined ? { endedAt } : {}) });
  await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: [assignment.gpu.gpuId] });
  run.state.assignments = run.state.assignments.filter((a) => a.assignmentId !== assignment.assignmentId);
}

interface Placement {
  rank: number;
  gpu: ReservedGpu;
}

/**
 * Records the assignments as their hosts' desired state, then waits (one activity, whatever the
 * count) until the hosts report them running. A host that does not within the heartbeat timeout is
 * unhealthy; one that reports it cannot run the container has its refusal recorded. Either way that
 * assignment ends and its GPU is freed; the caller replaces it.
 */
async function dispatch(run: LeaseRun, placements: Placement[]): Promise<{ started: AssignmentState[]; failed: { assignment: AssignmentState; reason: string }[] }> {
  const { input, state } = run;
  const head = placements.find((p) => p.rank === 0)?.gpu.hostId ?? state.assignments.find((a) => a.rank === 0)?.gpu.hostId ?? '';
  const assignments = placements.map((p) => newAssignment(run, p.gpu, p.rank));
  await control.openAssignments({
    leaseId: input.leaseId,
    assignments: assignments.map((a) => ({
      assignmentId: a.assignmentId,
      gpu: a.gpu,
      rank: a.rank,
      epoch: a.epoch,
      container: { image: input.spec.image, command: input.spec.command, env: input.spec.env, worldSize: input.spec.gpuCount, headHost: head },
    })),
    proofIntervalMs: input.timings.proofIntervalSeconds * 1000,
    period: state.period,
    challengeSeed: state.challengeSeed,
  });
  const outcome = await dispatchWatch(input.timings).awaitContainersRunning({
    assignmentIds: assignments.map((a) => a.assignmentId),
    deadline: now() + input.timings.heartbeatTimeoutSeconds * 1000,
    heartbeatTimeoutSeconds: input.timings.heartbeatTimeoutSeconds,
  });
  const failed: { assignment: AssignmentState; reason: string }[] = [];
  for (const miss of outcome.notRunning) {
    const assignment = assignments.find((a) => a.assignmentId === miss.assignmentId) as AssignmentState;
    await control.recordHostFault({
      hostId: miss.hostId,
      assignmentId: miss.assignmentId,
      kind: miss.timedOut ? 'start_timeout' : 'start_failed',
      detail: miss.reason,
      unhealthy: miss.timedOut,
    });
    await endAssignment(run, assignment, 'start_failed');
    failed.push({ assignment, reason: miss.reason });
  }
  const started = assignments.filter((a) => !failed.some((f) => f.assignment === a));
  state.assignments = [...state.assignments, ...started].sort((a, b) => a.rank - b.rank);
  return { started, failed };
}

/**
 * Brings `placements` up: dispatches them, and replaces every rank whose host did not start it with
 * a GPU of another provider (tier `minTier` or better), until all run. Returns null when they do, or
 * why a rank could not be placed within the queue timeout.
 */
export async function bringUp(run: LeaseRun, placements: Placement[], minTier: Tier, excluded: string[]): Promise<string | null> {
  let pending = placements;
  while (pending.length > 0) {
    const { failed } = await dispatch(run, pending);
    pending = [];
    for (const { assignment, reason } of failed) {
      excluded.push(assignment.gpu.providerId);
      const found = await reserve(run, 1, minTier, excluded);
      if ('reason' in found) return `rank ${assignment.rank} did not start (${reason}) and was not replaced: ${found.reason}`;
      pending.push({ rank: assignment.rank, gpu: found.gpus[0] as ReservedGpu });
    }
  }
  return null;
}

/** Every live assignment ends and its GPU is freed: the hosts stop the containers at their next poll. */
export async function endAll(run: LeaseRun, reason: AssignmentEndReason, endedAt: number): Promise<void> {
  const live = run.state.assignments;
  await Promise.all(live.map((a) => control.closeAssignment({ assignmentId: a.assignmentId, endReason: reason, endedAt })));
  await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: live.map((a) => a.gpu.gpuId) });
  run.state.assignments = [];
}

/** Handles the faults the fleet monitor reported, in order; each one only if it is about a live assignment. */
export async function handleFaults(run: LeaseRun): Promise<void> {
  while (run.faults.length > 0 && run.failure === null && !run.state.cancelRequested) {
    const fault = run.faults.shift() as AssignmentFault;
    const assignment = run.state.assignments.find((a) => a.assignmentId === fault.assignmentId && a.epoch === fault.epoch);
    if (!assignment) continue;
    if (fault.kind === 'container_exited') {
      // The customer's process ended on its own: billing for this GPU stops at its last receipt.
      await endAssignment(run, assignment, 'container_exited');
    } else {
      await failover(run, assignment, fault);
    }
  }
}

/**
 * Replaces a lost or unhealthy assignment with one on another provider of the same or better tier,
 * with the next epoch, so anything the old host still sends is fenced off. The old assignment ends at
 * its last accepted receipt. Sets the lease's failure when no replacement starts within the queue timeout.
 */
async function failover(run: LeaseRun, lost: AssignmentState, fault: AssignmentFault): Promise<void> {
  const { input, state } = run;
  await setStatus(input, state, 'failing_over');
  await endAssignment(run, lost, fault.kind === 'host_lost' ? 'host_lost' : 'host_unhealthy');
  const excluded = [lost.gpu.providerId];
  const found = await reserve(run, 1, lost.gpu.tier, excluded);
  const failure =
    'reason' in found
      ? found.reason
      : await bringUp(run, [{ rank: lost.rank, gpu: found.gpus[0] as ReservedGpu }], lost.gpu.tier, excluded);
  if (failure !== null) {
    run.failure = `rank ${lost.rank} lost (${fault.detail}) and not replaced: ${failure}`;
    return;
  }
  state.failoverCount++;
  if (!state.cancelRequested) await setStatus(input, state, 'running');
}

/** A start that failed part-way: whatever was started ends, and every reserved GPU is freed. */
export async function compensateStart(run: LeaseRun, gpus: ReservedGpu[]): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    await endAll(run, 'lease_failed', now());
    await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: gpus.map((g) => g.gpuId) });
  });
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
