/**
 * The host protocol over the API (DESIGN §2.3–2.5, §3): an assignment carries what its host must run
 * (its desired state) and where its receipt chain stands, as the API verified it on arrival; a host
 * carries a version that moves whenever its desired state does (the long poll waits on it) and its
 * standing; host events record what it did wrong, for placement. Frozen.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('assignments')
    .addColumn('desired_state', 'text', (col) => col.notNull().defaultTo('run'))
    .addColumn('container', 'jsonb')
    .addColumn('proof_interval_ms', 'integer', (col) => col.notNull().defaultTo(5000))
    .addColumn('period', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('challenge_seed', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('prev_period', 'integer')
    .addColumn('prev_challenge_seed', 'text')
    .addColumn('reported_state', 'text')
    .addColumn('reported_exit_code', 'integer')
    .addColumn('reported_detail', 'text')
    .addColumn('reported_at', 'timestamptz')
    .addColumn('running_at', 'timestamptz')
    .addColumn('tip_seq', 'integer')
    .addColumn('tip_hash', 'text')
    .addColumn('tip_at', 'timestamptz')
    .addColumn('tip_state', 'text')
    .addColumn('first_receipt_at', 'timestamptz')
    .addColumn('last_receipt_at', 'timestamptz')
    .addColumn('payable_ms', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('rejected_streak', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('fault', 'text')
    .addColumn('fault_signalled_at', 'timestamptz')
    .execute();
  await db.schema
    .alterTable('assignments')
    .addCheckConstraint('assignments_desired_state_valid', sql`desired_state in ('run', 'stop')`)
    .execute();
  // The watched-time invariant (DESIGN §5) as the database's backstop: paid time never exceeds the
  // time between the first and the latest accepted receipt's arrival.
  await db.schema
    .alterTable('assignments')
    .addCheckConstraint(
      'assignments_payable_within_watched',
      sql`payable_ms = 0 or (first_receipt_at is not null and last_receipt_at is not null
        and payable_ms <= (extract(epoch from (last_receipt_at - first_receipt_at)) * 1000)::bigint + 1)`,
    )
    .execute();

  await db.schema
    .alterTable('hosts')
    .addColumn('desired_version', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('unhealthy_until', 'timestamptz')
    .execute();

  await db.schema
    .alterTable('proof_receipts')
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('settled_period', 'integer')
    .execute();
  // A period's close collects the lease's receipts no settlement has digested yet.
  await db.schema
    .createIndex('proof_receipts_lease_unsettled')
    .on('proof_receipts')
    .columns(['lease_id', 'settled_period'])
    .execute();

  await db.schema
    .createTable('host_events')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('host_id', 'text', (col) => col.notNull().references('hosts.id'))
    .addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('assignment_id', 'text', (col) => col.references('assignments.id'))
    .addColumn('detail', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('host_events_host_at').on('host_events').columns(['host_id', 'at']).execute();

  // Each API process says it is up: hosts report through the API, so their silence proves nothing while it is down.
  await db.schema
    .createTable('api_liveness')
    .addColumn('instance', 'text', (col) => col.primaryKey())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull())
    .addColumn('seen_at', 'timestamptz', (col) => col.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_liveness').execute();
  await db.schema.dropTable('host_events').execute();
  await db.schema.dropIndex('proof_receipts_lease_unsettled').execute();
  await db.schema.alterTable('proof_receipts').dropColumn('received_at').dropColumn('settled_period').execute();
  await db.schema.alterTable('hosts').dropColumn('desired_version').dropColumn('unhealthy_until').execute();
  await db.schema.alterTable('assignments').dropConstraint('assignments_payable_within_watched').execute();
  await db.schema.alterTable('assignments').dropConstraint('assignments_desired_state_valid').execute();
  let alter = db.schema.alterTable('assignments').dropColumn('desired_state');
  for (const column of ['container', 'proof_interval_ms', 'period', 'challenge_seed', 'prev_period', 'prev_challenge_seed',
    'reported_state', 'reported_exit_code', 'reported_detail', 'reported_at', 'running_at', 'tip_seq', 'tip_hash', 'tip_at',
    'tip_state', 'first_receipt_at', 'last_receipt_at', 'payable_ms', 'rejected_streak', 'fault', 'fault_signalled_at']) {
    alter = alter.dropColumn(column);
  }
  await alter.execute();
}
