/**
 * The fleet monitors' shared hold (domain/fleet-silence.ts): while most of the fleet is silent at once, and for
 * a whole heartbeat timeout after, no host is judged by its silence. In the database, not in a monitor's memory,
 * so every control worker's monitor (and a restarted one) holds alike. One row. Frozen.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('fleet_hold')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('held_until', 'timestamptz', (col) => col.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fleet_hold').execute();
}
