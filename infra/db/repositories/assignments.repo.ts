/**
 * Assignments as the lease workflow drives them (DESIGN §2.3–2.5): opened with the container their
 * host must run, watched until the host reports it running, moved from period to period, ended. Every
 * write here that changes what a host must do bumps its desired-state version in the same transaction,
 * and records the lease's `placed` or `ended` event in it too.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { RankPredecessor } from '../../../domain/failover-timing';
import type { AssignmentEndReason, ReservedGpu } from '../../../domain/lease';
import type { AssignmentContainer, Database } from '../schema';
import { bumpDesiredVersions } from './desired-state.repo';
import { appendLeaseEvents } from './lease-events.repo';

export class GpuAlreadyAssignedError extends Error {
  override name = 'GpuAlreadyAssignedError';
}

const UNIQUE_VIOLATION = '23505';

export interface NewAssignment {
  assignmentId: string;
  gpu: ReservedGpu;
  rank: number;
  epoch: number;
  container: AssignmentContainer;
}

export interface AssignmentsOpening {
  leaseId: string;
  assignments: NewAssignment[];
  proofIntervalMs: number;
  period: number;
  challengeSeed: string;
}

/** All or none, idempotent on the assignment ids: a retry after a lost reply inserts nothing twice. */
export async function openAssignments(db: Kysely<Database>, opening: AssignmentsOpening): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      for (const a of opening.assignments) {
        await trx
          .insertInto('assignments')
          .values({
            id: a.assignmentId,
            lease_id: opening.leaseId,
            gpu_id: a.gpu.gpuId,
            host_id: a.gpu.hostId,
            provider_id: a.gpu.providerId,
            tier: a.gpu.tier,
            price_per_gpu_hour: a.gpu.pricePerGpuHour,
            rank: a.rank,
            epoch: a.epoch,
            started_at: sql<Date>`now()`,
            container: JSON.stringify(a.container),
            proof_interval_ms: opening.proofIntervalMs,
            period: opening.period,
            challenge_seed: opening.challengeSeed,
          })
          // Conflict on the id only: a retry is a no-op, while a GPU that already has another live
          // assignment still fails on the one-live-assignment-per-GPU index.
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
      await bumpDesiredVersions(trx, opening.assignments.map((a) => a.gpu.hostId));
      // Last, as every event append: a retry's events conflict on their assignment ids and add nothing.
      await appendLeaseEvents(trx, opening.assignments.map((a) => ({
        leaseId: opening.leaseId,
        kind: 'placed' as const,
        key: a.assignmentId,
        detail: { assignmentId: a.assignmentId, rank: a.rank, epoch: a.epoch, hostId: a.gpu.hostId, providerId: a.gpu.providerId, tier: a.gpu.tier },
      })));
    });
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
      throw new GpuAlreadyAssignedError(`a GPU of lease ${opening.leaseId} already has a live assignment: ${(error as Error).message}`);
    }
    throw error;
  }
}

export interface ContainerOutcome {
  assignmentId: string;
  hostId: string;
  /** API clock when its host first reported it running; null while it has not. */
  runningAt: number | null;
  reportedState: string | null;
  reportedDetail: string | null;
  reportedExitCode: number | null;
}

export async function containerOutcomes(db: Kysely<Database>, assignmentIds: string[]): Promise<ContainerOutcome[]> {
  if (assignmentIds.length === 0) return [];
  const rows = await db
    .selectFrom('assignments')
    .select(['id', 'host_id', 'running_at', 'reported_state', 'reported_detail', 'reported_exit_code'])
    .where('id', 'in', assignmentIds)
    .execute();
  return rows.map((row) => ({
    assignmentId: row.id,
    hostId: row.host_id,
    runningAt: row.running_at?.getTime() ?? null,
    reportedState: row.reported_state,
    reportedDetail: row.reported_detail,
    reportedExitCode: row.reported_exit_code,
  }));
}

/**
 * Ends an open assignment (a retry keeps the first end): its host must stop the container, and no
 * receipt is accepted for it any more. Without `endedAt` it ends at its last accepted receipt (or its
 * dispatch when there was none): a lost host's silent seconds are not its to claim.
 */
export async function endAssignment(
  db: Kysely<Database>,
  input: { assignmentId: string; endReason: AssignmentEndReason; endedAt?: number },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const ended = await trx
      .updateTable('assignments')
      .set({
        ended_at: input.endedAt !== undefined ? new Date(input.endedAt) : sql<Date>`coalesce(tip_at, started_at)`,
        end_reason: input.endReason,
        desired_state: 'stop',
      })
      .where('id', '=', input.assignmentId)
      .where('ended_at', 'is', null)
      .returning(['host_id', 'lease_id', 'rank', 'epoch'])
      .executeTakeFirst();
    if (!ended) return;
    await bumpDesiredVersions(trx, [ended.host_id]);
    await appendLeaseEvents(trx, [{
      leaseId: ended.lease_id,
      kind: 'ended',
      key: input.assignmentId,
      detail: { assignmentId: input.assignmentId, rank: ended.rank, epoch: ended.epoch, reason: input.endReason },
    }]);
  });
}

export interface PeriodClose {
  leaseId: string;
  period: number;
  /** The period that starts now and its challenge; null when the lease ends with this one. */
  next: { period: number; challengeSeed: string } | null;
}

export interface PeriodTotals {
  /** Every assignment of the lease, ended ones included: cumulative verified seconds. */
  verified: { assignmentId: string; verifiedSeconds: number }[];
  /** Hashes of the receipts this period's settlement takes (accepted since the last one). */
  receiptHashes: string[];
}

/**
 * Closes a period: takes the receipts no settlement has digested yet (a retry takes the same ones and
 * any that came since), reads every assignment's verified seconds, and gives the live assignments the
 * next period's challenge (once: a retry does not move them again).
 */
export async function closePeriod(db: Kysely<Database>, close: PeriodClose): Promise<PeriodTotals> {
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('proof_receipts')
      .set({ settled_period: close.period })
      .where('lease_id', '=', close.leaseId)
      .where('settled_period', 'is', null)
      .execute();
    const receipts = await trx
      .selectFrom('proof_receipts')
      .select('hash')
      .where('lease_id', '=', close.leaseId)
      .where('settled_period', '=', close.period)
      .execute();
    const verified = await trx
      .selectFrom('assignments')
      .select(['id', 'verified_seconds'])
      .where('lease_id', '=', close.leaseId)
      .orderBy('id')
      .execute();
    if (close.next) {
      const moved = await trx
        .updateTable('assignments')
        .set({
          prev_period: sql<number>`period`,
          prev_challenge_seed: sql<string>`challenge_seed`,
          period: close.next.period,
          challenge_seed: close.next.challengeSeed,
        })
        .where('lease_id', '=', close.leaseId)
        .where('ended_at', 'is', null)
        .where('period', '<', close.next.period)
        .returning('host_id')
        .execute();
      await bumpDesiredVersions(trx, moved.map((row) => row.host_id));
    }
    return {
      verified: verified.map((row) => ({ assignmentId: row.id, verifiedSeconds: row.verified_seconds })),
      receiptHashes: receipts.map((row) => row.hash),
    };
  });
}

/**
 * For each assignment, the earlier assignments of its lease's rank (domain/failover-timing reads which fault
 * it replaced); assignments that are a rank's first are absent.
 */
export async function rankPredecessors(
  db: Kysely<Database>,
  assignmentIds: string[],
): Promise<Map<string, { epoch: number; predecessors: RankPredecessor[] }>> {
  const byAssignment = new Map<string, { epoch: number; predecessors: RankPredecessor[] }>();
  if (assignmentIds.length === 0) return byAssignment;
  const rows = await db
    .selectFrom('assignments as r')
    .innerJoin('assignments as p', (join) =>
      join.onRef('p.lease_id', '=', 'r.lease_id').onRef('p.rank', '=', 'r.rank').onRef('p.epoch', '<', 'r.epoch'))
    .select(['r.id', 'r.epoch as replacement_epoch', 'p.epoch', 'p.end_reason', 'p.fault_signalled_at'])
    .where('r.id', 'in', assignmentIds)
    .execute();
  for (const row of rows) {
    const entry = byAssignment.get(row.id) ?? { epoch: row.replacement_epoch, predecessors: [] };
    entry.predecessors.push({ epoch: row.epoch, endReason: row.end_reason, faultSignalledAt: row.fault_signalled_at?.getTime() ?? null });
    byAssignment.set(row.id, entry);
  }
  return byAssignment;
}
