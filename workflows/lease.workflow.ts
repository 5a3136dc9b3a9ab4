/**
 * One cluster lease, from reservation to its last proven second (DESIGN §2). The workflow owns the
 * lease's state; PostgreSQL holds a read model it writes through activities; the hosts run and
 * prove the containers. Handlers: extend (update with validator), cancel (update), snapshot (query).
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { isTerminal } from '../domain/lease';
import { control } from './activity-stubs';
import { now } from './clock';
import { endsAt, initialState, periodEnd, snapshot } from './lease-state';
import type { LeaseState } from './lease-state';
import { publishSearchAttributes, setStatus } from './lease-status';
import type { LeaseSnapshot, LeaseWorkflowInput } from './messages';
import { MAX_EXTEND_SECONDS, cancelLeaseUpdate, extendLeaseUpdate, leaseSnapshotQuery } from './messages';
import type { LeaseRun } from './placement';
import { dispatchAll, errorMessage, reserve, stopContainer } from './placement';
import { runPeriod } from './supervision';

/** Patch: a cancel's answer waits until the terminal status is recorded in PostgreSQL. */
const CANCEL_ANSWERS_AFTER_READ_MODEL = 'cancel-answers-after-read-model';

/** A period shorter than this at the lease's end is not worth a round of supervision. */
const END_SLACK_MS = 500;

export async function leaseWorkflow(input: LeaseWorkflowInput, carried?: LeaseState): Promise<LeaseSnapshot> {
  const run: LeaseRun = { input, state: carried ?? initialState(input), failure: null, failoversInFlight: 0, closed: false };
  const { state } = run;
  let periodScope: CancellationScope | null = null;

  setHandler(leaseSnapshotQuery, () => snapshot(input.leaseId, state));
  setHandler(
    extendLeaseUpdate,
    async ({ seconds }) => {
      state.durationSeconds += seconds;
      if (state.startedAt !== null) await setStatus(input, state, state.status);
      return { durationSeconds: state.durationSeconds, endsAt: endsAt(state) };
    },
    {
      validator: ({ seconds }) => {
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXTEND_SECONDS) {
          throw ApplicationFailure.create({ type: 'InvalidArgument', message: `seconds must be an integer from 1 to ${MAX_EXTEND_SECONDS}` });
        }
        if (isTerminal(state.status) || state.status === 'closing' || state.cancelRequested) {
          throw new Error(`lease is ${state.cancelRequested ? 'being cancelled' : state.status}`);
        }
      },
    },
  );
  setHandler(
    cancelLeaseUpdate,
    async () => {
      if (!state.cancelRequested) {
        state.cancelRequested = true;
        periodScope?.cancel();
      }
      // Answer once the read model says so too, so the caller's next GET agrees with this answer.
      // Leases cancelled before this change answered at the terminal status already (their histories say so).
      const afterReadModel = patched(CANCEL_ANSWERS_AFTER_READ_MODEL);
      await condition(() => (afterReadModel ? run.closed : isTerminal(state.status)));
      return { status: state.status };
    },
    {
      validator: () => {
        if (isTerminal(state.status)) throw new Error(`lease is already ${state.status}`);
      },
    },
  );

  if (!carried) {
    const failure = await start(run);
    if (failure !== null) return finish(run, failure.status, failure.reason);
  } else {
    publishSearchAttributes(input, state);
  }

  while (!state.cancelRequested && run.failure === null && state.assignments.length > 0) {
    const until = periodEnd(state, now(), input.timings.settlementPeriodSeconds);
    if (until - now() < END_SLACK_MS) break;
    periodScope = new CancellationScope();
    try {
      await runPeriod(run, periodScope, until);
    } catch (err) {
      // A control activity refused for good (a bug, not an outage: outages are retried). Close the lease
      // cleanly rather than leave its containers running and its GPUs held by a failed workflow.
      run.failure = `internal error: ${errorMessage(err)}`;
    }
    periodScope = null;
    if (workflowInfo().continueAsNewSuggested && !state.cancelRequested && run.failure === null) {
      // Handlers must not be cut off mid-way; the state goes on whole to the next run.
      await condition(allHandlersFinished);
      if (!state.cancelRequested) return continueAsNew<typeof leaseWorkflow>(input, state);
    }
  }
  return close(run);
}

/** Reserve and dispatch. Returns null when every container is running, or how the lease ended. */
async function start(run: LeaseRun): Promise<{ status: 'failed' | 'cancelled'; reason: string } | null> {
  const { input, state } = run;
  await setStatus(input, state, 'reserving');
  const reserved = await reserve(run, input.spec.gpuCount, input.spec.minTier, []);
  if ('reason' in reserved) {
    return state.cancelRequested ? { status: 'cancelled', reason: 'cancelled by customer' } : { status: 'failed', reason: reserved.reason };
  }
  // Escrow (next issue): open the lease on-chain and lock the deposit here, before any container starts.
  await setStatus(input, state, 'dispatching');
  const failure = await CancellationScope.nonCancellable(() => dispatchAll(run, reserved.gpus));
  if (failure !== null) return { status: 'failed', reason: failure };
  state.startedAt = now();
  await setStatus(input, state, 'running');
  return null;
}

/** Stops every container, releases every GPU, and records why the lease ended. */
async function close(run: LeaseRun): Promise<LeaseSnapshot> {
  const { state } = run;
  const [status, reason, assignmentReason] = state.cancelRequested
    ? (['cancelled', 'cancelled by customer', 'lease_cancelled'] as const)
    : run.failure !== null
      ? (['failed', run.failure, 'lease_failed'] as const)
      : state.assignments.length === 0
        ? (['completed', 'every container exited', 'lease_completed'] as const)
        : (['completed', 'duration elapsed', 'lease_completed'] as const);
  await CancellationScope.nonCancellable(async () => {
    await setStatus(run.input, state, 'closing');
    const live = state.assignments;
    await Promise.all(live.map((a) => stopContainer(run, a)));
    const endedAt = now();
    await Promise.all(
      live.map((a) => control.closeAssignment({ assignmentId: a.assignmentId, endedAt, endReason: assignmentReason })),
    );
    await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: live.map((a) => a.gpu.gpuId) });
    // Escrow (next issue): settle the last partial period and refund the rest of the deposit here.
  });
  return finish(run, status, reason);
}

async function finish(run: LeaseRun, status: 'completed' | 'cancelled' | 'failed', reason: string): Promise<LeaseSnapshot> {
  await CancellationScope.nonCancellable(() => setStatus(run.input, run.state, status, { endReason: reason, endedAt: now() }));
  run.closed = true;
  await condition(allHandlersFinished);
  return snapshot(run.input.leaseId, run.state);
}

