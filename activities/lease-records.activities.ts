/**
 * The lease read model the API serves (leases, assignments), written by the workflow. Every write is
 * idempotent on its natural key, so Temporal may retry any of them after a crash.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, LeaseUpdate } from '../infra/db/schema';
import type { CloseAssignmentInput, ControlActivities, LeaseStatusChange, OpenAssignmentInput } from './contracts';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
}

export type LeaseRecordActivities = Pick<ControlActivities, 'recordLeaseStatus' | 'openAssignment' | 'closeAssignment'>;

const UNIQUE_VIOLATION = '23505';

/** Only the fields the change names are written: a status change never erases a start time. */
function leaseUpdateOf(change: LeaseStatusChange): LeaseUpdate {
  const update: LeaseUpdate = { status: change.status };
  if (change.endReason !== undefined) update.end_reason = change.endReason;
  if (change.startedAt !== undefined) update.started_at = new Date(change.startedAt);
  if (change.endsAt !== undefined) update.ends_at = new Date(change.endsAt);
  if (change.endedAt !== undefined) update.ended_at = new Date(change.endedAt);
  if (change.failoverCount !== undefined) update.failover_count = change.failoverCount;
  return update;
}

export function createLeaseRecordActivities({ db, log }: Deps): LeaseRecordActivities {
  async function recordLeaseStatus(change: LeaseStatusChange): Promise<void> {
    const result = await db.updateTable('leases').set(leaseUpdateOf(change)).where('id', '=', change.leaseId).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      // The API writes the row before it starts the workflow; without it there is nothing to record into.
      throw ApplicationFailure.nonRetryable(`lease ${change.leaseId} has no record to update`, 'LeaseNotFound');
    }
    log?.debug({ leaseId: change.leaseId, status: change.status }, 'lease status recorded');
  }

  async function openAssignment(input: OpenAssignmentInput): Promise<void> {
    const { gpu } = input;
    try {
      // Conflict on the id only: a retry is a no-op, while a GPU that already has another live
      // assignment still fails on the one-live-assignment-per-GPU index.
      await db
        .insertInto('assignments')
        .values({
          id: input.assignmentId,
          lease_id: input.leaseId,
          gpu_id: gpu.gpuId,
          host_id: gpu.hostId,
          provider_id: gpu.providerId,
          tier: gpu.tier,
          price_per_gpu_hour: gpu.pricePerGpuHour,
          rank: input.rank,
          epoch: input.epoch,
          started_at: new Date(input.startedAt),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw ApplicationFailure.nonRetryable(
          `GPU ${gpu.gpuId} already has a live assignment; assignment ${input.assignmentId} of lease ${input.leaseId} was not opened`,
          'GpuAlreadyAssigned',
        );
      }
      throw error;
    }
  }

  /** Only an open assignment is closed: a retry keeps the first end time and reason. */
  async function closeAssignment(input: CloseAssignmentInput): Promise<void> {
    await db
      .updateTable('assignments')
      .set({ ended_at: new Date(input.endedAt), end_reason: input.endReason })
      .where('id', '=', input.assignmentId)
      .where('ended_at', 'is', null)
      .execute();
  }

  return { recordLeaseStatus, openAssignment, closeAssignment };
}
