/**
 * The leases read model. The API creates a lease row (and deletes it if the workflow could not be
 * started); from then on the workflow's activities write status, times and assignments.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Assignment, Database, Lease, NewLease } from '../schema';

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
  const row = await db
    .insertInto('leases')
    .values(lease)
    .onConflict((oc) => oc.columns(['customer_id', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (row) return { inserted: true };
  const existing = await db
    .selectFrom('leases')
    .selectAll()
    .where('customer_id', '=', lease.customer_id)
    .where('idempotency_key', '=', lease.idempotency_key ?? null)
    .executeTakeFirstOrThrow();
  return { inserted: false, existing };
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
