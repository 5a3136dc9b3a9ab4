/**
 * Each lease's latest period close, as the close took it: the period, every assignment's verified seconds then,
 * and the receipts it digested. The close and the settlement run in one workflow task (workflows/escrow.ts); a
 * worker killed after the settlement was sent but before the task was recorded has both run again, and the
 * settlement must be asked for exactly what was sent. So the close, re-run, returns what it took the first
 * time, not what was verified since (that goes to the next period). One row per lease. Frozen.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('period_closes')
    .addColumn('lease_id', 'text', (col) => col.primaryKey().references('leases.id').onDelete('cascade'))
    .addColumn('period', 'integer', (col) => col.notNull())
    .addColumn('verified', 'jsonb', (col) => col.notNull())
    .addColumn('receipt_hashes', 'jsonb', (col) => col.notNull())
    .addColumn('closed_at', 'timestamptz', (col) => col.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('period_closes').execute();
}
