/**
 * The leases read model. The API creates a lease row (and deletes it if the workflow could not be
 * started); from then on the workflow's activities write status, times and assignments.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Assignment, Database, Lease, LeaseUpdate, NewLease } from '../schema';
import { appendLeaseEvents, lockLeaseEvents } from './lease-events.repo';

export interface LeaseWithAssignments {
  lease: Lease;
  assignments: Assignment[];
}

/**
 * Inserts the lease unless the customer already used its idempotency key; then returns the lease that
 * holds the key instead (the caller compares request hashes). Race-free through the unique index on
 * (customer_id, idempotency_key).
 */
export async function insertLease(
  db: Kysely<Database>,
  lease: NewLease,
): Promise<{ inserted: true } | { inserted: false; existing: Lease }> {
  const inserted = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('leases')
      .values(lease)
      .onConflict((oc) => oc.columns(['customer_id', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    // The lease's first event: its status as created.
    if (row) await appendLeaseEvents(trx, [{ leaseId: row.id, kind: 'status', key: null, detail: { status: lease.status } }]);
    return row !== undefined;
  });
  if (inserted) return { inserted: true };
  const existing = await db
    .selectFrom('leases')
    .selectAll()
    .where('customer_id', '=', lease.customer_id)
    .where('idempotency_key', '=', lease.idempotency_key ?? null)
    .executeTakeFirstOrThrow();
  return { inserted: false, existing };
}

/**
 * Writes a status change of the workflow's and, when the status really changes, its `status` event, in
 * one transaction: a retry or a same-status write adds no event. False when the lease has no row.
 */
export async function recordLeaseStatus(
  db: Kysely<Database>,
  leaseId: string,
  update: LeaseUpdate & { status: string },
  endReason?: string,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // The event lock first, then the row: the order every status writer follows (lease-events.repo.ts).
    await lockLeaseEvents(trx, leaseId);
    const before = await trx.selectFrom('leases').select('status').where('id', '=', leaseId).forNoKeyUpdate().executeTakeFirst();
    if (!before) return false;
    await trx.updateTable('leases').set(update).where('id', '=', leaseId).execute();
    if (before.status !== update.status) {
      const detail = { status: update.status, ...(endReason !== undefined ? { endReason } : {}) };
      await appendLeaseEvents(trx, [{ leaseId, kind: 'status', key: null, detail }]);
    }
    return true;
  });
}

export async function findLeaseByIdempotencyKey(
  db: Kysely<Database>,
  customerId: string,
  idempotencyKey: string,
): Promise<Lease | undefined> {
  return db
    .selectFrom('leases')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
}

/** Undoes a creation whose workflow never started; only a lease nothing else has touched yet. */
export async function deleteUnstartedLease(db: Kysely<Database>, leaseId: string): Promise<void> {
  await db.deleteFrom('leases').where('id', '=', leaseId).where('status', '=', 'reserving').execute();
}

/** Scoped to the customer: another customer's lease does not exist for the caller. */
export async function findLease(db: Kysely<Database>, customerId: string, leaseId: string): Promise<Lease | undefined> {
  return db
    .selectFrom('leases')
    .selectAll()
    .where('id', '=', leaseId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
}

export async function findLeaseWithAssignments(
  db: Kysely<Database>,
  customerId: string,
  leaseId: string,
): Promise<LeaseWithAssignments | undefined> {
  const lease = await findLease(db, customerId, leaseId);
  if (!lease) return undefined;
  const [withAssignments] = await attachAssignments(db, [lease]);
  return withAssignments;
}

/** Newest first. */
export async function listLeases(db: Kysely<Database>, customerId: string): Promise<LeaseWithAssignments[]> {
  const leases = await db
    .selectFrom('leases')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return attachAssignments(db, leases);
}

/**
 * Keeps the read model in step with an accepted extension at once. The workflow is the source of truth
 * and extensions only lengthen a lease, so the greater value wins whichever write lands last.
 */
export async function recordExtension(
  db: Kysely<Database>,
  leaseId: string,
  durationSeconds: number,
  endsAt: Date | null,
): Promise<void> {
  await db
    .updateTable('leases')
    .set((eb) => ({
      duration_seconds: sql<number>`greatest(${eb.ref('duration_seconds')}, ${durationSeconds})`,
      ...(endsAt ? { ends_at: sql<Date>`greatest(${eb.ref('ends_at')}, ${endsAt})` } : {}),
    }))
    .where('id', '=', leaseId)
    .execute();
}

async function attachAssignments(db: Kysely<Database>, leases: Lease[]): Promise<LeaseWithAssignments[]> {
  if (leases.length === 0) return [];
  const assignments = await db
    .selectFrom('assignments')
    .selectAll()
    .where(
      'lease_id',
      'in',
      leases.map((lease) => lease.id),
    )
    .orderBy('started_at')
    .orderBy('rank')
    .orderBy('epoch')
    .execute();
  return leases.map((lease) => ({ lease, assignments: assignments.filter((a) => a.lease_id === lease.id) }));
}
