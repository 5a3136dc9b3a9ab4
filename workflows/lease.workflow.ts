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
import type { EscrowState, LeaseState } from './lease-state';
import { billPeriod, closeEscrow, newEscrowState, openEscrow, refundUnstarted, settle, topUp } from './escrow';
import { publishSearchAttributes, setStatus } from './lease-status';
import type { LeaseSnapshot, LeaseWorkflowInput } from './messages';
import { MAX_EXTEND_SECONDS, cancelLeaseUpdate, extendLeaseUpdate, leaseSnapshotQuery } from './messages';
import type { LeaseRun } from './placement';
import { dispatchAll, errorMessage, reserve, stopContainer } from './placement';
import { runPeriod } from './supervision';

/** Patch: leases pay through the Solana escrow (deposit, per-period settlements, close with refund). */
const LEASE_ESCROW = 'lease-escrow';

/** Patch: a cancel's answer waits until the terminal status is recorded in PostgreSQL. */
const CANCEL_ANSWERS_AFTER_READ_MODEL = 'cancel-answers-after-read-model';

/** A period shorter than this at the lease's end is not worth a round of supervision. */
const END_SLACK_MS = 500;

export async function leaseWorkflow(input: LeaseWorkflowInput, carried?: LeaseState): Promise<LeaseSnapshot> {
  const run: LeaseRun = {
    input,
    state: carried ?? initialState(input),
    failure: null,
    failoversInFlight: 0,
    closed: false,
    escrowOpening: false,
    finalBill: null,
  };
  const { state } = run;
  let periodScope: CancellationScope | null = null;

  setHandler(leaseSnapshotQuery, () => snapshot(input.leaseId, state));
  setHandler(
    extendLeaseUpdate,
    async ({ seconds }) => {
      const account = state.escrow;
      if (account && (account.address !== null || run.escrowOpening)) {
        // The deposit must cover the new end: top up first (customer-signed), then move the end.
        await condition(() => !run.escrowOpening);
        if (account.address !== null) await topUp(input, account, seconds);
      }
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
    state.escrow = patched(LEASE_ESCROW) ? newEscrowState() : null;
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
      const proven = await runPeriod(run, periodScope, until);
      if (state.escrow) {
        const bill = billPeriod(state.escrow, proven);
        // A period that ends the lease for good is paid by the close, in the same transaction as the refund.
        const final = state.cancelRequested || run.failure !== null || state.assignments.length === 0;
        if (final) run.finalBill = bill;
        else await CancellationScope.nonCancellable(() => settle(input, state.escrow as EscrowState, bill));
      }
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
  if (state.escrow) {
    const locked = await lockDeposit(run, state.escrow);
    if (locked !== null) {
      await control.releaseGpus({ leaseId: input.leaseId, gpuIds: reserved.gpus.map((g) => g.gpuId) });
      return { status: 'failed', reason: locked };
    }
  }
  await setStatus(input, state, 'dispatching');
  const failure = await CancellationScope.nonCancellable(() => dispatchAll(run, reserved.gpus));
  if (failure !== null) {
    if (state.escrow) await CancellationScope.nonCancellable(() => refundUnstarted(input));
    return { status: 'failed', reason: failure };
  }
  state.startedAt = now();
  await setStatus(input, state, 'running');
  return null;
}

/** Locks the deposit on-chain before any container starts. Returns why it could not, or null. */
async function lockDeposit(run: LeaseRun, account: EscrowState): Promise<string | null> {
  run.escrowOpening = true;
  try {
    await openEscrow(run.input, run.state, account);
    return null;
  } catch (err) {
    // It may still land later: give back whatever did.
    await CancellationScope.nonCancellable(() => refundUnstarted(run.input));
    return `escrow deposit failed: ${errorMessage(err)}`;
  } finally {
    run.escrowOpening = false;
  }
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
  let escrowProblem = '';
  await CancellationScope.nonCancellable(async () => {
    await setStatus(run.input, state, 'closing');
    const live = state.assignments;
    await Promise.all(live.map((a) => stopContainer(run, a)));
    const endedAt = now();
    await Promise.all(
      live.map((a) => control.closeAssignment({ assignmentId: a.assignmentId, endedAt, endReason: assignmentReason })),
    );
    await control.releaseGpus({ leaseId: run.input.leaseId, gpuIds: live.map((a) => a.gpu.gpuId) });
    if (state.escrow?.address) {
      try {
        await closeEscrow(run.input, state.escrow, run.finalBill ?? billPeriod(state.escrow, []));
      } catch (err) {
        // Final refusals only (e.g. the customer reclaimed the escrow itself): the lease still ends.
        escrowProblem = `; escrow close refused: ${errorMessage(err)}`;
      }
    }
  });
  return finish(run, status, reason + escrowProblem);
}

async function finish(run: LeaseRun, status: 'completed' | 'cancelled' | 'failed', reason: string): Promise<LeaseSnapshot> {
  await CancellationScope.nonCancellable(() => setStatus(run.input, run.state, status, { endReason: reason, endedAt: now() }));
  run.closed = true;
  await condition(allHandlersFinished);
  return snapshot(run.input.leaseId, run.state);
}

