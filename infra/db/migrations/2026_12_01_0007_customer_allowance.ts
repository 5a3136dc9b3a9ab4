/**
 * Customers keep their keys and pay as they go (issue 8): a customer registers its wallet by signing (when it did
 * is kept), a lease may run without a fixed duration, each settlement may carry the top-up of the rolling deposit
 * (amount and seconds bought), and an escrow keeps the window the program enforces. Extensions no longer top up
 * on their own (the next settlement does), so the separate top-up ledger goes. Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('customers').addColumn('wallet_registered_at', 'timestamptz').execute();
  await db.schema.alterTable('leases').alterColumn('duration_seconds', (col) => col.dropNotNull()).execute();
  await db.schema.alterTable('settlements')
    .addColumn('top_up', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`top_up >= 0`))
    .addColumn('top_up_seconds', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`top_up_seconds >= 0`))
    .execute();
  await db.schema.alterTable('escrows').addColumn('window_seconds', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
  await db.schema.dropTable('escrow_top_ups').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(_db: Kysely<any>): Promise<void> {
  throw new Error('2026_12_01_0007_customer_allowance cannot be undone: the top-up ledger it dropped is gone');
}
