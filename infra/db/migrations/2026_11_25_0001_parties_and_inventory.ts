/**
 * Who takes part (customers, providers) and what can be rented (hosts, GPUs). Frozen: a later change
 * to the schema is a new migration, never an edit here.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('api_key_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('providers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('tier', 'integer', (col) => col.notNull())
    .addColumn('api_key_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('providers_tier_valid', sql`tier between 1 and 3`)
    .execute();

  await db.schema
    .createTable('hosts')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('provider_id', 'text', (col) => col.notNull().references('providers.id'))
    .addColumn('public_key', 'text', (col) => col.notNull())
    .addColumn('tier', 'integer', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('gpu_source', 'text', (col) => col.notNull())
    .addColumn('last_heartbeat_at', 'timestamptz')
    .addColumn('registered_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('hosts_tier_valid', sql`tier between 1 and 3`)
    .addCheckConstraint('hosts_status_valid', sql`status in ('online', 'lost', 'offline')`)
    .addCheckConstraint('hosts_gpu_source_valid', sql`gpu_source in ('nvidia-smi', 'simulated')`)
    .execute();
  await db.schema.createIndex('hosts_provider_id').on('hosts').column('provider_id').execute();

  await db.schema
    .createTable('gpus')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('host_id', 'text', (col) => col.notNull().references('hosts.id'))
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('vram_gb', 'integer', (col) => col.notNull())
    .addColumn('tier', 'integer', (col) => col.notNull())
    .addColumn('price_per_gpu_hour', 'bigint', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    // The foreign key to leases is added with the leases table (next migration).
    .addColumn('lease_id', 'text')
    .addColumn('reservation_id', 'text')
    .addCheckConstraint('gpus_tier_valid', sql`tier between 1 and 3`)
    .addCheckConstraint('gpus_price_not_negative', sql`price_per_gpu_hour >= 0`)
    .addCheckConstraint('gpus_vram_not_negative', sql`vram_gb >= 0`)
    .addCheckConstraint('gpus_status_valid', sql`status in ('free', 'reserved', 'offline')`)
    // A reserved GPU always names its lease and reservation, and only a reserved one does: a
    // half-released GPU could otherwise be taken by a second lease.
    .addCheckConstraint(
      'gpus_holder_matches_status',
      sql`(status = 'reserved') = (lease_id is not null) and (lease_id is null) = (reservation_id is null)`,
    )
    .execute();
  // The reservation query: free GPUs of one model, filtered by tier, cheapest first.
  await db.schema
    .createIndex('gpus_reservation_search')
    .on('gpus')
    .columns(['model', 'status', 'tier', 'price_per_gpu_hour'])
    .execute();
  await db.schema.createIndex('gpus_host_id').on('gpus').column('host_id').execute();
  await db.schema.createIndex('gpus_lease_id').on('gpus').column('lease_id').where('lease_id', 'is not', null).execute();
  await db.schema
    .createIndex('gpus_reservation_id')
    .on('gpus')
    .column('reservation_id')
    .where('reservation_id', 'is not', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gpus').execute();
  await db.schema.dropTable('hosts').execute();
  await db.schema.dropTable('providers').execute();
  await db.schema.dropTable('customers').execute();
}
