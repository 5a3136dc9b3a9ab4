/**
 * Evidence for providers' reliability scores (domain/reliability.ts): each assignment counts the receipts
 * its host had refused on arrival (the streak it already keeps resets; the score needs the total), and the
 * evidence queries find a provider's assignments, within the evidence window, by an index. Frozen.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not follow the living schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('assignments')
    .addColumn('rejected_receipts', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('assignments_provider_ended').on('assignments').columns(['provider_id', 'ended_at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('assignments_provider_ended').execute();
  await db.schema.alterTable('assignments').dropColumn('rejected_receipts').execute();
}
