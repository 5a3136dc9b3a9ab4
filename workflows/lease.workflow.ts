/**
 * One cluster lease, from reservation to its last proven second (DESIGN §2). The workflow owns the
 * lease's state; PostgreSQL holds a read model it writes through activities. Hosts are outside the
 * trust boundary and never talk to Temporal: the workflow writes what they must run, the API verifies
 * their reports, and the fleet monitor signals faults. Per settlement period the history grows by a
 * timer, one closePeriod marker (a local activity) and one settlement (which also tops up the rolling deposit),
 * whatever the GPU count or proof interval. A lease ends at its fixed duration, or at the last second its customer's
 * allowance funded, or when the customer reclaimed its escrow on-chain.
 * Handlers: extend (update with validator), cancel (update), snapshot (query), assignmentFault (signal).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { maxRatePerSecond } from '../domain/billing';
import { isTerminal } from '../domain/lease';
import type { ReservedGpu } from '../domain/lease';
import { control, periodClose } from './activity-stubs';
import { now } from './clock';
import { fundsRunningLow } from '../domain/rolling-deposit';
import type { EscrowFunding } from '../activities/contracts';
import { endIsNear, endsForLackOfFunds, fixedEndsAt, initialState, periodEnd, snapshot } from './lease-state';
import type { LeaseState } from './lease-state';
import { billPeriod, closeEscrow, openEscrow, recordVerified, refundUnstarted, settle } from './escrow';
import type { PeriodBill } from './escrow';
import { publishSearchAttributes, setStatus } from './lease-status';
import type { LeaseSnapshot, LeaseWorkflowInput } from './messages';
import { MAX_EXTEND_SECONDS, assignmentFaultSignal, cancelLeaseUpdate, extendLeaseUpdate, leaseSnapshotQuery } from './messages';
import type { LeaseRun } from './placement';
import { bringUp, compensateStart, endAll, errorMessage, handleFaults, reserve } from './placement';

const RECLAIMED = 'escrow reclaimed by the customer on-chain: nothing after the reclaim is paid';

export async function leaseWorkflow(input: LeaseWorkflowInput, carried?: LeaseState): Promise<LeaseSnapshot> {
  const run: LeaseRun = {
    input,
    state: carried ?? initialState(input, uuid4()),
    failure: null,
    faults: [],
    closed: false,
  };
  const { state } = run;

  setHandler(leaseSnapshotQuery, () => snapshot(input.leaseId, state));
  setHandler(assignmentFaultSignal, (fault) => {
    // The monitor repeats a fault until the assignment ends: keep one of each.
    if (!run.closed && !run.faults.some((f) => f.assignmentId === fault.assignmentId && f.epoch === fault.epoch)) run.faults.push(fault);
  });
  setHandler(
    extendLeaseUpdate,
    async ({ seconds }) => {
      // No deposit now: the next settlements' top-ups fund the new end from the customer's allowance.
      state.durationSeconds = (state.durationSeconds ?? 0) + seconds;
      if (state.startedAt !== null) await setStatus(input, state, state.status);
      return { durationSeconds: state.durationSeconds, endsAt: fixedEndsAt(state) };
    },
    {
      validator: ({ seconds }) => {
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXTEND_SECONDS) {
          throw ApplicationFailure.create({ type: 'InvalidArgument', message: `seconds must be an integer from 1 to ${MAX_EXTEND_SECONDS}` });
        }
        if (isTerminal(state.status) || state.status === 'closing' || state.cancelRequested) {
          throw new Error(`lease is ${state.cancelRequested ? 'being cancelled' : state.status}`);
        }
        if (state.durationSeconds === null) throw new Error('lease has no fixed duration: it runs until cancelled');
      },
    },
  );
  setHandler(
    cancelLeaseUpdate,
    async () => {
      state.cancelRequested = true;
      // Answer once the read model says so too, so the caller's next GET agrees with this answer.
      await condition(() => run.closed);
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

  while (!ending(run)) {
    // Only the lease's end ends it: a period boundary as near as that once ended a 1-hour lease after minutes, as
    // "duration elapsed", when its settlement had run late under a chaos run's kills.
    if (endIsNear(state, now())) break;
    const until = periodEnd(state, now(), input.timings.settlementPeriodSeconds);
    try {
      await supervise(run, until);
      // A period cut short by a cancel or a failure is paid by the close, with the refund.
      if (ending(run)) break;
      await closePeriodAndSettle(run, until);
    } catch (err) {
      if (isReclaimed(err)) {
        // The customer took its money back on-chain (the engine was away past the end and the grace): stop.
        state.escrow.reclaimed = true;
      } else {
        // A control activity refused for good (a bug, not an outage: outages are retried). Close the lease
        // cleanly rather than leave its containers running and its GPUs held by a failed workflow.
        run.failure = `internal error: ${errorMessage(err)}`;
      }
    }
    if (workflowInfo().continueAsNewSuggested && !ending(run)) {
      // Handlers must not be cut off mid-way; the state goes on whole to the next run.
      await condition(allHandlersFinished);
      if (!ending(run)) return continueAsNew<typeof leaseWorkflow>(input, state);
    }
  }
  return close(run);
}

function ending(run: LeaseRun): boolean {
  return run.state.cancelRequested || run.failure !== null || run.state.assignments.length === 0 || run.state.escrow.reclaimed;
}

function isReclaimed(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'EscrowReclaimedError';
}

/** Waits for the period's end, handling the faults the fleet monitor reports meanwhile (failovers, exits). */
async function supervise(run: LeaseRun, until: number): Promise<void> {
  while (!ending(run) && now() < until) {
    const woke = await condition(() => run.faults.length > 0 || run.state.cancelRequested, until - now());
    if (!woke || run.state.cancelRequested) return;
    await CancellationScope.nonCancellable(() => handleFaults(run));
  }
}

/** Totals what the API verified during the period, starts the next challenge, and pays the period in one transaction. */
async function closePeriodAndSettle(run: LeaseRun, endsAt: number): Promise<void> {
  const { input, state } = run;
  const next = { period: state.period + 1, challengeSeed: uuid4() };
  const totals = await periodClose.closePeriod({ leaseId: input.leaseId, period: state.period, endsAt, next });
  state.period = next.period;
  state.challengeSeed = next.challengeSeed;
  applyVerified(state, totals.verified);
  const funding = await CancellationScope.nonCancellable(() => settle(input, state, billPeriod(input, state.escrow, totals.receiptsDigest), endsAt));
  await warnAboutFunds(run, funding);
}

/**
 * Tells the customer, once per episode, that its allowance runs out: ahead of time when what is left cannot pay the
 * next period's top-up, and when a top-up fell short (then the lease ends at the last funded second unless the
 * allowance is raised before). A later full top-up clears the warning.
 */
async function warnAboutFunds(run: LeaseRun, funding: EscrowFunding): Promise<void> {
  const { input, state } = run;
  const account = state.escrow;
  const low = fundsRunningLow({ maxRatePerSecond: maxRate(input), periodSeconds: input.timings.settlementPeriodSeconds,
    spendableAfter: BigInt(funding.spendableAfter), fundedSeconds: funding.fundedSeconds, durationSeconds: state.durationSeconds,
    short: funding.short });
  const code = funding.short ? 'allowance_exhausted' : low ? 'funds_low' : null;
  if (code === null || code === account.warned) {
    account.warned = code;
    return;
  }
  account.warned = code;
  // Where the funding ends: the lease ends there unless the allowance is raised before.
  const end = state.startedAt === null ? null : state.startedAt + funding.fundedSeconds * 1000;
  const when = end === null ? '' : ` at ${new Date(end).toISOString()}`;
  const message = code === 'allowance_exhausted'
    ? `the allowance could not fund the next ${input.timings.depositWindowPeriods + 1} periods: the lease ends${when}, its last paid second, unless the allowance is raised`
    : `the allowance left (${funding.spendableAfter} base units) does not fund the next period: the lease will end${when} unless the allowance is raised`;
  await control.recordLeaseWarning({ leaseId: input.leaseId, key: `${code}-${state.period}`, code, message, endsAt: end });
}

function maxRate(input: LeaseWorkflowInput): bigint {
  return maxRatePerSecond(BigInt(input.spec.maxPricePerGpuHour), input.spec.gpuCount);
}

function applyVerified(state: LeaseState, verified: { assignmentId: string; verifiedSeconds: number }[]): void {
  for (const v of verified) {
    const assignment = state.assignments.find((a) => a.assignmentId === v.assignmentId);
    if (assignment) assignment.verifiedSeconds = v.verifiedSeconds;
    recordVerified(state.escrow, v.assignmentId, v.verifiedSeconds);
  }
}

/** Reserve, lock the deposit, dispatch. Returns null when every container is running, or how the lease ended. */
async function start(run: LeaseRun): Promise<{ status: 'failed' | 'cancelled'; reason: string } | null> {
  const { input, state } = run;
  await setStatus(input, state, 'reserving');
  const reserved = await reserve(run, input.spec.gpuCount, input.spec.minTier, []);
  if ('reason' in reserved) {
    return state.cancelRequested ? { status: 'cancelled', reason: 'cancelled by customer' } : { status: 'failed', reason: reserved.reason };
  }
  const locked = await lockDeposit(run);
  if (locked !== null) {
    await control.releaseGpus({ leaseId: input.leaseId, gpuIds: reserved.gpus.map((g) => g.gpuId) });
    return { status: 'failed', reason: locked };
  }
  await setStatus(input, state, 'dispatching');
  const failure = await CancellationScope.nonCancellable(() =>
    bringUp(run, reserved.gpus.map((gpu, rank) => ({ rank, gpu })), input.spec.minTier, []),
  );
  if (failure !== null) {
    await compensateStart(run, reserved.gpus as ReservedGpu[]);
    await CancellationScope.nonCancellable(() => settleFailedStart(run));
    return { status: 'failed', reason: failure };
  }
  state.startedAt = now();
  await setStatus(input, state, 'running');
  return null;
}

/**
 * A start given up after containers ran (a rank that could not be placed while another already ran, a host that
 * reported its container running as its dispatch timed out): every second their hosts proved is paid, as in any
 * lease, and the rest of the deposit given back. Their assignments have ended, so the totals are final.
 */
async function settleFailedStart(run: LeaseRun): Promise<void> {
  await refundUnstarted(run.input, await finalBill(run));
}

/** Closes the last period (its assignments have ended, so its totals are final) and bills what it owes. */
async function finalBill(run: LeaseRun): Promise<PeriodBill> {
  const { input, state } = run;
  const totals = await periodClose.closePeriod({ leaseId: input.leaseId, period: state.period, endsAt: now(), next: null });
  applyVerified(state, totals.verified);
  return billPeriod(input, state.escrow, totals.receiptsDigest);
}

/** Locks the deposit on-chain before any container starts. Returns why it could not, or null. */
async function lockDeposit(run: LeaseRun): Promise<string | null> {
  try {
    await openEscrow(run.input, run.state, run.state.escrow);
    return null;
  } catch (err) {
    // It may still land later: give back whatever did.
    await CancellationScope.nonCancellable(() => refundUnstarted(run.input));
    return `escrow deposit failed: ${errorMessage(err)}`;
  }
}

/** Ends every assignment, pays the last period, refunds the rest, and records why the lease ended. */
async function close(run: LeaseRun): Promise<LeaseSnapshot> {
  const { state, input } = run;
  const [endStatus, endReason, assignmentReason] = endOf(run);
  let [status, reason] = [endStatus, endReason];
  let escrowProblem = '';
  await CancellationScope.nonCancellable(async () => {
    await setStatus(input, state, 'closing');
    await endAll(run, assignmentReason, now());
    // Receipts stop being accepted at the end just recorded: what was verified until then is final.
    const bill = await finalBill(run);
    if (state.escrow.address && !state.escrow.reclaimed) {
      try {
        await closeEscrow(input, state.escrow, bill);
      } catch (err) {
        // Final refusals only: the lease still ends, and says why its money did not move.
        if (isReclaimed(err)) {
          state.escrow.reclaimed = true;
          [status, reason] = ['cancelled', RECLAIMED];
        } else {
          escrowProblem = `; escrow close refused: ${errorMessage(err)}`;
        }
      }
    }
  });
  return finish(run, status, reason + escrowProblem);
}

/** Why the lease ends: its terminal status, the reason the customer reads, and the reason each assignment ends with. */
function endOf(run: LeaseRun): ['completed' | 'cancelled' | 'failed', string, 'lease_completed' | 'lease_cancelled' | 'lease_failed'] {
  const { state } = run;
  if (state.escrow.reclaimed) return ['cancelled', RECLAIMED, 'lease_cancelled'];
  if (state.cancelRequested) return ['cancelled', 'cancelled by customer', 'lease_cancelled'];
  if (run.failure !== null) return ['failed', run.failure, 'lease_failed'];
  if (state.assignments.length === 0) return ['completed', 'every container exited', 'lease_completed'];
  if (endsForLackOfFunds(state)) {
    return ['completed', 'allowance exhausted: the lease ran to the last second its allowance funded', 'lease_completed'];
  }
  return ['completed', 'duration elapsed', 'lease_completed'];
}

async function finish(run: LeaseRun, status: 'completed' | 'cancelled' | 'failed', reason: string): Promise<LeaseSnapshot> {
  await CancellationScope.nonCancellable(() => setStatus(run.input, run.state, status, { endReason: reason, endedAt: now() }));
  run.closed = true;
  await condition(allHandlersFinished);
  return snapshot(run.input.leaseId, run.state);
}
