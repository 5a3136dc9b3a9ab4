/**
 * What happened to a lease, kept for reading later and for following live (GET /v1/leases/:id/events):
 * status changes, ranks placed, running and ended. Written by the repositories that make each change, in
 * the same transaction. `seq` numbers a lease's events in commit order (writers of one lease take a
 * per-lease advisory lock before they number), so a reader that resumes after seq N misses nothing that
 * commits later. `key` makes an event idempotent under retries (null for status events, which are
 * guarded by comparing the status in SQL instead). Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lease_events')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('lease_id', 'text', (col) => col.notNull().references('leases.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('key', 'text')
    .addColumn('detail', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('lease_events_lease_id').on('lease_events').columns(['lease_id', 'id']).execute();
  await db.schema.createIndex('lease_events_lease_seq').on('lease_events').columns(['lease_id', 'seq']).unique().execute();
  await db.schema
    .createIndex('lease_events_natural_key')
    .on('lease_events')
    .columns(['lease_id', 'kind', 'key'])
    .unique()
    .where(sql.ref('key'), 'is not', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lease_events').execute();
}
