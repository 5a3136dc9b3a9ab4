/**
 * The lease read model the API serves, written by the workflow. Every write is
 * idempotent on its natural key, so Temporal may retry any of them after a crash: a retried status
 * change adds no second `status` event (leases.repo compares the status in SQL).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { recordLeaseWarning as recordLeaseWarningEvent } from '../infra/db/repositories/lease-events.repo';
import { recordLeaseStatus as recordLeaseStatusRecord } from '../infra/db/repositories/leases.repo';
import type { Database, LeaseUpdate } from '../infra/db/schema';
import type { ControlActivities, LeaseStatusChange } from './contracts';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
}

export type LeaseRecordActivities = Pick<ControlActivities, 'recordLeaseStatus' | 'recordLeaseWarning'>;

/** Only the fields the change names are written: a status change never erases a start time. */
function leaseUpdateOf(change: LeaseStatusChange): LeaseUpdate & { status: string } {
  const update: LeaseUpdate & { status: string } = { status: change.status };
  if (change.endReason !== undefined) update.end_reason = change.endReason;
  if (change.startedAt !== undefined) update.started_at = new Date(change.startedAt);
  if (change.endsAt !== undefined) update.ends_at = new Date(change.endsAt);
  if (change.endedAt !== undefined) update.ended_at = new Date(change.endedAt);
  if (change.failoverCount !== undefined) update.failover_count = change.failoverCount;
  return update;
}

export function createLeaseRecordActivities({ db, log }: Deps): LeaseRecordActivities {
  async function recordLeaseStatus(change: LeaseStatusChange): Promise<void> {
    const found = await recordLeaseStatusRecord(db, change.leaseId, leaseUpdateOf(change), change.endReason);
    if (!found) {
      // The API writes the row before it starts the workflow; without it there is nothing to record into.
      throw ApplicationFailure.nonRetryable(`lease ${change.leaseId} has no record to update`, 'LeaseNotFound');
    }
    log?.debug({ leaseId: change.leaseId, status: change.status }, 'lease status recorded');
  }

  return {
    recordLeaseStatus,
    async recordLeaseWarning({ leaseId, key, code, message, endsAt }) {
      await recordLeaseWarningEvent(db, leaseId, key, { code, message, endsAt: endsAt === null ? null : new Date(endsAt).toISOString() });
      log?.info({ leaseId, code }, message);
    },
  };
}
