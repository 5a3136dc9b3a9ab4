/**
 * Containers' stdout and stderr as their hosts ship them (GET /v1/leases/:id/logs). `container_logs`
 * numbers a lease's lines (`seq`) under a per-lease advisory lock, so seq order is commit order across
 * its ranks and failovers and a follower resuming after seq N misses nothing. `container_log_meters`
 * holds, per assignment, its rate window and what it keeps, so bounds are enforced without scanning its
 * lines. Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('container_logs')
    .addColumn('lease_id', 'text', (col) => col.notNull().references('leases.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('assignment_id', 'text', (col) => col.notNull())
    .addColumn('rank', 'integer', (col) => col.notNull())
    .addColumn('epoch', 'integer', (col) => col.notNull())
    .addColumn('stream', 'text', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .addColumn('text', 'text', (col) => col.notNull())
    .addColumn('bytes', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('container_logs_pkey', ['lease_id', 'seq'])
    .execute();
  await db.schema.createIndex('container_logs_assignment_seq').on('container_logs').columns(['assignment_id', 'seq']).execute();
  await db.schema
    .createTable('container_log_meters')
    .addColumn('assignment_id', 'text', (col) => col.primaryKey().references('assignments.id').onDelete('cascade'))
    .addColumn('lease_id', 'text', (col) => col.notNull())
    .addColumn('window_started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('window_bytes', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('dropped_pending', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('kept_lines', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('kept_bytes', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('container_log_meters_lease').on('container_log_meters').column('lease_id').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('container_log_meters').execute();
  await db.schema.dropTable('container_logs').execute();
}
