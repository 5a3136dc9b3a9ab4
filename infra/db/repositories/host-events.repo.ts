/**
 * What a host did wrong, recorded against it (DESIGN §2.3, §3): placement keeps an unhealthy host
 * out until its cool-down ends, and later placement may weigh its record.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Database, HostEvent } from '../schema';

export type HostEventKind = 'lost' | 'start_timeout' | 'start_failed' | 'receipts_rejected' | 'no_proof';

export interface HostEventInput {
  hostId: string;
  kind: HostEventKind;
  assignmentId?: string | null;
  detail: string;
}

export async function recordHostEvent(db: Kysely<Database> | Transaction<Database>, event: HostEventInput): Promise<void> {
  await db
    .insertInto('host_events')
    .values({ host_id: event.hostId, kind: event.kind, assignment_id: event.assignmentId ?? null, detail: event.detail.slice(0, 500) })
    .execute();
}

/** Takes the host out of placement for `seconds` and records why; its live assignments are then replaced by the fleet monitor. */
export async function markHostUnhealthy(
  db: Kysely<Database> | Transaction<Database>,
  event: HostEventInput & { seconds: number },
): Promise<void> {
  await db
    .updateTable('hosts')
    .set({ unhealthy_until: sql<Date>`greatest(coalesce(unhealthy_until, now()), now() + make_interval(secs => ${event.seconds}))` })
    .where('id', '=', event.hostId)
    .execute();
  await recordHostEvent(db, event);
}

export async function hostEventsOf(db: Kysely<Database>, hostId: string): Promise<HostEvent[]> {
  return db.selectFrom('host_events').selectAll().where('host_id', '=', hostId).orderBy('id').execute();
}
