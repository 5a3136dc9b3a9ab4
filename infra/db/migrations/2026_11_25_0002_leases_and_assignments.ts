/**
 * Leases (the read model the API serves, written by the workflow's activities) and assignments (one
 * GPU's container on one host at one epoch). Frozen: change the schema in a new migration.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('leases')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('customer_id', 'text', (col) => col.notNull().references('customers.id'))
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('gpu_model', 'text', (col) => col.notNull())
    .addColumn('gpu_count', 'integer', (col) => col.notNull())
    .addColumn('min_tier', 'integer', (col) => col.notNull())
    .addColumn('max_price_per_gpu_hour', 'bigint', (col) => col.notNull())
    .addColumn('duration_seconds', 'integer', (col) => col.notNull())
    .addColumn('image', 'text', (col) => col.notNull())
    .addColumn('command', 'jsonb')
    .addColumn('env', 'jsonb')
    .addColumn('idempotency_key', 'text')
    .addColumn('request_hash', 'text', (col) => col.notNull())
    .addColumn('failover_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('ends_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addCheckConstraint('leases_gpu_count_positive', sql`gpu_count > 0`)
    .addCheckConstraint('leases_min_tier_valid', sql`min_tier between 1 and 3`)
    .addCheckConstraint('leases_max_price_not_negative', sql`max_price_per_gpu_hour >= 0`)
    .addCheckConstraint('leases_duration_positive', sql`duration_seconds > 0`)
    .addCheckConstraint('leases_failover_count_not_negative', sql`failover_count >= 0`)
    .execute();
  // A retried POST with the same key finds the lease it created; keys are scoped to their customer.
  await db.schema
    .createIndex('leases_idempotency_key')
    .unique()
    .on('leases')
    .columns(['idempotency_key', 'customer_id'])
    .where('idempotency_key', 'is not', null)
    .execute();
  await db.schema.createIndex('leases_customer_created').on('leases').columns(['customer_id', 'created_at']).execute();

  await db.schema
    .alterTable('gpus')
    .addForeignKeyConstraint('gpus_lease_id_fkey', ['lease_id'], 'leases', ['id'])
    .execute();

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('lease_id', 'text', (col) => col.notNull().references('leases.id'))
    .addColumn('gpu_id', 'text', (col) => col.notNull().references('gpus.id'))
    .addColumn('host_id', 'text', (col) => col.notNull().references('hosts.id'))
    .addColumn('provider_id', 'text', (col) => col.notNull().references('providers.id'))
    .addColumn('tier', 'integer', (col) => col.notNull())
    .addColumn('price_per_gpu_hour', 'bigint', (col) => col.notNull())
    .addColumn('rank', 'integer', (col) => col.notNull())
    .addColumn('epoch', 'integer', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull())
    .addColumn('ended_at', 'timestamptz')
    .addColumn('end_reason', 'text')
    .addColumn('verified_seconds', 'integer', (col) => col.notNull().defaultTo(0))
    .addCheckConstraint('assignments_tier_valid', sql`tier between 1 and 3`)
    .addCheckConstraint('assignments_price_not_negative', sql`price_per_gpu_hour >= 0`)
    .addCheckConstraint('assignments_rank_not_negative', sql`rank >= 0`)
    .addCheckConstraint('assignments_epoch_not_negative', sql`epoch >= 0`)
    .addCheckConstraint('assignments_verified_seconds_not_negative', sql`verified_seconds >= 0`)
    .execute();
  // The database's backstop for "no GPU is held by two live assignments", whatever the code does.
  await db.schema
    .createIndex('assignments_one_live_per_gpu')
    .unique()
    .on('assignments')
    .column('gpu_id')
    .where(sql.ref('ended_at'), 'is', null)
    .execute();
  // What a host should be running right now (the host agent's stale-container check).
  await db.schema
    .createIndex('assignments_live_by_host')
    .on('assignments')
    .column('host_id')
    .where(sql.ref('ended_at'), 'is', null)
    .execute();
  await db.schema.createIndex('assignments_lease_id').on('assignments').column('lease_id').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('assignments').execute();
  await db.schema.alterTable('gpus').dropConstraint('gpus_lease_id_fkey').execute();
  await db.schema.dropTable('leases').execute();
}
