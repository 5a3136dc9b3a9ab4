/**
 * The settlement ledger (DESIGN §4, §5): one escrow per lease, one row per settlement transaction and one
 * per provider paid by it, and the wallets money comes from and goes to. A transaction's row is written
 * 'pending' with its signature and signed bytes before it is sent (write-ahead), so a retry after any
 * crash finds it and asks the chain what became of it instead of paying again. Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('customers').addColumn('wallet_address', 'text').execute();
  await db.schema.alterTable('providers').addColumn('payout_token_account', 'text').execute();

  await db.schema
    .createTable('escrows')
    .addColumn('lease_id', 'text', (col) => col.primaryKey().references('leases.id'))
    .addColumn('address', 'text', (col) => col.notNull())
    .addColumn('vault', 'text', (col) => col.notNull())
    .addColumn('customer_wallet', 'text', (col) => col.notNull())
    .addColumn('mint', 'text', (col) => col.notNull())
    .addColumn('deposited', 'bigint', (col) => col.notNull())
    .addColumn('max_rate_per_second', 'bigint', (col) => col.notNull())
    .addColumn('duration_seconds', 'bigint', (col) => col.notNull())
    // 'opening' while open_lease is signed but not known to have landed.
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('open_signature', 'text', (col) => col.notNull())
    .addColumn('open_transaction', 'text')
    .addColumn('open_last_valid_block_height', 'bigint')
    .addColumn('closed_signature', 'text')
    .addColumn('refunded', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('opened_at', 'timestamptz')
    .addCheckConstraint('escrows_status_valid', sql`status in ('opening', 'open', 'closed', 'reclaimed')`)
    .addCheckConstraint('escrows_amounts_not_negative', sql`deposited > 0 and max_rate_per_second > 0 and refunded >= 0`)
    .execute();

  await db.schema
    .createTable('settlements')
    .addColumn('lease_id', 'text', (col) => col.notNull().references('escrows.lease_id'))
    .addColumn('period', 'bigint', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    // The signed transaction's signature, written before it is sent; replaced only once it can no longer land.
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('transaction', 'text', (col) => col.notNull())
    .addColumn('last_valid_block_height', 'bigint', (col) => col.notNull())
    .addColumn('receipts_digest', 'text', (col) => col.notNull())
    .addColumn('gross', 'bigint', (col) => col.notNull())
    // The treasury's part of the fee (the program's Lease.fees); the burned part is `burned`.
    .addColumn('fee', 'bigint', (col) => col.notNull())
    .addColumn('burned', 'bigint', (col) => col.notNull())
    .addColumn('refunded', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_at', 'timestamptz')
    .addPrimaryKeyConstraint('settlements_pkey', ['lease_id', 'period'])
    .addCheckConstraint('settlements_period_positive', sql`period > 0`)
    .addCheckConstraint('settlements_kind_valid', sql`kind in ('settle', 'close')`)
    .addCheckConstraint('settlements_status_valid', sql`status in ('pending', 'confirmed')`)
    .addCheckConstraint('settlements_amounts_not_negative', sql`gross >= 0 and fee >= 0 and burned >= 0 and refunded >= 0`)
    .execute();
  // A lease closes once: a retried close finds the close it already planned, whatever period it asks for.
  await db.schema
    .createIndex('settlements_one_close_per_lease')
    .unique()
    .on('settlements')
    .column('lease_id')
    .where(sql.ref('kind'), '=', 'close')
    .execute();
  // Signatures identify transactions across the ledger (the API links them to explorers).
  await db.schema.createIndex('settlements_signature').unique().on('settlements').column('signature').execute();

  await db.schema
    .createTable('settlement_payouts')
    .addColumn('lease_id', 'text', (col) => col.notNull())
    .addColumn('period', 'bigint', (col) => col.notNull())
    .addColumn('provider_id', 'text', (col) => col.notNull().references('providers.id'))
    .addColumn('token_account', 'text', (col) => col.notNull())
    .addColumn('seconds', 'integer', (col) => col.notNull())
    .addColumn('gross', 'bigint', (col) => col.notNull())
    .addColumn('net', 'bigint', (col) => col.notNull())
    .addColumn('fee', 'bigint', (col) => col.notNull())
    .addColumn('burn', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('settlement_payouts_pkey', ['lease_id', 'period', 'provider_id'])
    .addForeignKeyConstraint('settlement_payouts_settlement_fkey', ['lease_id', 'period'], 'settlements',
      ['lease_id', 'period'], (fk) => fk.onDelete('cascade'))
    .addCheckConstraint('settlement_payouts_split_exact', sql`gross = net + fee + burn`)
    .addCheckConstraint('settlement_payouts_not_negative', sql`seconds >= 0 and net >= 0 and fee >= 0 and burn >= 0`)
    .execute();
  // A provider's earnings (GET /v1/providers/:id).
  await db.schema.createIndex('settlement_payouts_provider').on('settlement_payouts').column('provider_id').execute();

  // Top-ups are keyed by the caller's id (an extend's update id), written ahead like settlements.
  await db.schema
    .createTable('escrow_top_ups')
    .addColumn('lease_id', 'text', (col) => col.notNull().references('escrows.lease_id'))
    .addColumn('top_up_id', 'text', (col) => col.notNull())
    .addColumn('amount', 'bigint', (col) => col.notNull())
    .addColumn('extend_seconds', 'bigint', (col) => col.notNull())
    // What the lease's deposit and duration are once this top-up landed: how a retry recognises it on-chain.
    .addColumn('deposited_after', 'bigint', (col) => col.notNull())
    .addColumn('duration_after', 'bigint', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('signature', 'text', (col) => col.notNull())
    .addColumn('transaction', 'text', (col) => col.notNull())
    .addColumn('last_valid_block_height', 'bigint', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_at', 'timestamptz')
    .addPrimaryKeyConstraint('escrow_top_ups_pkey', ['lease_id', 'top_up_id'])
    .addCheckConstraint('escrow_top_ups_status_valid', sql`status in ('pending', 'confirmed')`)
    .addCheckConstraint('escrow_top_ups_amount_positive', sql`amount > 0 and extend_seconds >= 0`)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('escrow_top_ups').execute();
  await db.schema.dropTable('settlement_payouts').execute();
  await db.schema.dropTable('settlements').execute();
  await db.schema.dropTable('escrows').execute();
  await db.schema.alterTable('providers').dropColumn('payout_token_account').execute();
  await db.schema.alterTable('customers').dropColumn('wallet_address').execute();
}
