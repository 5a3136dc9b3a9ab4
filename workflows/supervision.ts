/**
 * One settlement period of a running lease: every assignment is supervised on its host until the
 * period ends, and the receipts the hosts signed are collected for verification. A host that stops
 * heartbeating is lost mid-period: its partial receipts come from the failure's last heartbeat
 * details, and its rank fails over at once, not at the period's end.
 */
import { ActivityFailure, CancellationScope, CancelledFailure, TimeoutFailure, uuid4 } from '@temporalio/workflow';
import type { AssignmentReceipts, SuperviseHeartbeat } from '../activities/contracts';
import type { ProofReceipt } from '../domain/proof-receipt';
import { control, hostActivities } from './activity-stubs';
import { recordVerified } from './escrow';
import { now } from './clock';
import type { AssignmentState } from './lease-state';
import type { LeaseRun } from './placement';
import { endAssignment, errorMessage, failover } from './placement';

/** Below this, a replacement waits for the next period rather than starting a sliver of one. */
const MIN_ROUND_MS = 1000;

class PeriodReceipts {
  private readonly byAssignment = new Map<string, AssignmentReceipts>();

  add(assignment: AssignmentState, receipts: ProofReceipt[]): void {
    const batch = this.byAssignment.get(assignment.assignmentId) ?? {
      assignmentId: assignment.assignmentId,
      epoch: assignment.epoch,
      hostId: assignment.gpu.hostId,
      gpuId: assignment.gpu.gpuId,
      receipts: [],
    };
    batch.receipts.push(...receipts);
    this.byAssignment.set(assignment.assignmentId, batch);
    const last = receipts[receipts.length - 1];
    if (last) {
      assignment.chainTip = { seq: last.body.seq, hash: last.hash };
      assignment.lastReceiptAt = last.body.at;
    }
  }

  all(): AssignmentReceipts[] {
    return [...this.byAssignment.values()];
  }
}

function receiptsCarriedBy(err: unknown): ProofReceipt[] {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const details =
    cause instanceof TimeoutFailure ? cause.lastHeartbeatDetails : cause instanceof CancelledFailure ? cause.details[0] : undefined;
  return (details as SuperviseHeartbeat | undefined)?.receipts ?? [];
}

/**
 * Runs the period that ends at `until` inside `scope` (cancelled when the customer cancels), then
 * verifies and records what was proven. Returns when every lane has reported.
 */
export async function runPeriod(run: LeaseRun, scope: CancellationScope, until: number): Promise<string[]> {
  const { input, state } = run;
  const period = state.period;
  const challengeSeed = uuid4();
  const collected = new PeriodReceipts();

  const lane = async (start: AssignmentState): Promise<void> => {
    let current: AssignmentState | null = start;
    while (current && until - now() >= MIN_ROUND_MS) {
      const assignment: AssignmentState = current;
      try {
        const result = await hostActivities(assignment.gpu.hostId, input.timings).superviseAssignment({
          leaseId: input.leaseId,
          assignmentId: assignment.assignmentId,
          epoch: assignment.epoch,
          gpuId: assignment.gpu.gpuId,
          period,
          until,
          challengeSeed,
          proofIntervalMs: input.timings.proofIntervalSeconds * 1000,
          chainTip: assignment.chainTip,
        });
        collected.add(assignment, result.receipts);
        if (result.containerState !== 'running') {
          // The customer's process ended on its own: billing for this GPU stops at its last receipt.
          const last = result.receipts[result.receipts.length - 1];
          await CancellationScope.nonCancellable(() => endAssignment(run, assignment, 'container_exited', last?.body.at ?? now()));
        }
        return;
      } catch (err) {
        const receipts = receiptsCarriedBy(err);
        collected.add(assignment, receipts);
        // Only the customer's cancel cancels supervision. Any other failure, a host worker shutting
        // down (which cancels its activities) included, means the host is not proving work: fail over.
        if (state.cancelRequested) return;
        const lastProvenAt = assignment.lastReceiptAt ?? assignment.startedAt;
        current = await CancellationScope.nonCancellable(() => failover(run, assignment, lastProvenAt, errorMessage(err)));
      }
    }
  };

  await scope.run(() => Promise.all(state.assignments.map((a) => lane(a))));

  const batches = collected.all().filter((b) => b.receipts.length > 0);
  const proven: string[] = [];
  if (batches.length > 0) {
    const verified = await CancellationScope.nonCancellable(() =>
      control.verifyPeriodReceipts({
        leaseId: input.leaseId,
        period,
        challengeSeed,
        proofIntervalMs: input.timings.proofIntervalSeconds * 1000,
        assignments: batches,
      }),
    );
    for (const v of verified) {
      const rejected = new Set(v.rejected.map((r) => r.seq));
      const batch = batches.find((b) => b.assignmentId === v.assignmentId);
      proven.push(...(batch?.receipts ?? []).filter((r) => !rejected.has(r.body.seq)).map((r) => r.hash));
      const assignment = state.assignments.find((a) => a.assignmentId === v.assignmentId);
      if (assignment) assignment.verifiedSeconds = v.verifiedSeconds;
      if (state.escrow) recordVerified(state.escrow, v.assignmentId, v.verifiedSeconds);
    }
  }
  state.period = period + 1;
  // The period's proven receipts: their digest goes on-chain with the period's settlement.
  return proven;
}
