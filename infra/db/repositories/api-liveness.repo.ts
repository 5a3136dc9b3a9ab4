/**
 * Whether the API has been there to hear the hosts (DESIGN §2.5). Hosts report only through the API:
 * while no API process runs, every host falls silent at once, and that says nothing about the hosts.
 * The fleet monitor judges a host lost only once the API has been up for a whole heartbeat timeout.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema';

/** An instance not seen for this long is down. */
const FRESH_SECONDS = 3;

/**
 * `instance` serves now, and has since `startedAt` unless it went unseen for a while: an API that could not
 * record itself (PostgreSQL away, the process stalled) could not record the hosts' reports either, so its
 * up-time starts again, and the hosts get a whole timeout to be heard once it is back.
 */
export async function recordApiAlive(db: Kysely<Database>, instance: string, startedAt: Date): Promise<void> {
  await db
    .insertInto('api_liveness')
    .values({ instance, started_at: startedAt, seen_at: sql<Date>`now()` })
    .onConflict((oc) => oc.column('instance').doUpdateSet({
      started_at: sql<Date>`case when api_liveness.seen_at < now() - make_interval(secs => ${FRESH_SECONDS}) then now() else api_liveness.started_at end`,
      seen_at: sql<Date>`now()`,
    }))
    .execute();
  // Instances gone for an hour are history.
  await db.deleteFrom('api_liveness').where('seen_at', '<', sql<Date>`now() - interval '1 hour'`).execute();
}

/** Seconds the longest-running live API instance has been up; 0 when none is live. */
export async function apiUpSeconds(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('api_liveness')
    .select(sql<number>`coalesce(max(extract(epoch from (now() - started_at))), 0)`.as('up'))
    .where('seen_at', '>', sql<Date>`now() - make_interval(secs => ${FRESH_SECONDS})`)
    .executeTakeFirstOrThrow();
  return Number(row.up);
}
