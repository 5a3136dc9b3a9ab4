/**
 * Verified proof receipts (DESIGN §3). The primary key (assignment_id, seq) is what makes recording
 * idempotent: a retried verification inserts nothing twice, so no second is paid twice. Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('proof_receipts')
    .addColumn('assignment_id', 'text', (col) => col.notNull().references('assignments.id'))
    .addColumn('seq', 'integer', (col) => col.notNull())
    .addColumn('lease_id', 'text', (col) => col.notNull().references('leases.id'))
    .addColumn('epoch', 'integer', (col) => col.notNull())
    .addColumn('host_id', 'text', (col) => col.notNull().references('hosts.id'))
    .addColumn('gpu_id', 'text', (col) => col.notNull().references('gpus.id'))
    .addColumn('period', 'integer', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('payable_ms', 'integer', (col) => col.notNull())
    .addColumn('body', 'jsonb', (col) => col.notNull())
    .addPrimaryKeyConstraint('proof_receipts_pkey', ['assignment_id', 'seq'])
    .addCheckConstraint('proof_receipts_seq_not_negative', sql`seq >= 0`)
    .addCheckConstraint('proof_receipts_payable_not_negative', sql`payable_ms >= 0`)
    .execute();
  // Settlement digests and audits read one lease's period at a time.
  await db.schema.createIndex('proof_receipts_lease_period').on('proof_receipts').columns(['lease_id', 'period']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('proof_receipts').execute();
}
