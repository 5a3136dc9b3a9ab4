/**
 * The embedded server under the load `npm start` puts on it: several processes, each with a pg pool,
 * talking at once with the extended protocol and transactions. PGlite is one session, so a server that
 * lets one connection's Parse/Bind/Execute/Sync or transaction run inside another's answers queries with
 * the wrong rows, loses portals and statements, or breaks `FOR UPDATE` read-modify-write.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Client, Pool } from 'pg';
import { createInventoryActivities } from '../../../activities/inventory.activities';
import type { Database } from '../../../infra/db/schema';
import { migrateToLatest } from '../../../infra/db/migrate';
import { freePort } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';
import type { EmbeddedPostgresProcess } from './pglite-process';
import { startEmbeddedPostgresProcess } from './pglite-process';

const PROCESSES = 3;
const WORKERS = 4; // per pool, the pool's size: every connection is busy at once
const ECHOES = 40;
const INCREMENTS = 12;

let dataDir: string;
let server: EmbeddedPostgresProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-pglite-server-'));
  server = await startEmbeddedPostgresProcess(dataDir, await freePort());
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs `work` on every worker of every pool at once; the first failure of a worker ends that worker. */
async function everywhere(work: (k: number, w: number) => Promise<void>, errors: string[]): Promise<void> {
  await Promise.all(
    Array.from({ length: PROCESSES * WORKERS }, (_, n) =>
      work(Math.floor(n / WORKERS), n % WORKERS).catch((error: Error) => void errors.push(error.message)),
    ),
  );
}

test('several pg pools at once get their own answers, whole transactions and exact counts', async () => {
  // A wedged server turns into query errors instead of a hung test.
  const pools = Array.from({ length: PROCESSES }, () => new Pool({ connectionString: server.url, max: WORKERS, query_timeout: 20_000 }));
  for (const pool of pools) pool.on('error', () => undefined);
  const dbs = pools.map((pool) => new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
  const errors: string[] = [];
  let queries = 0;
  const started = Date.now();
  try {
    // Migrations from every process at once, while the others' prepared queries run between them.
    await Promise.all([
      ...dbs.map((db) => migrateToLatest(db)),
      everywhere(async (k, w) => {
        for (let i = 0; i < ECHOES; i++) {
          const tag = `${k}.${w}.${i}`;
          const { rows } = await pools[k]!.query<{ tag: string; square: number }>('select $1::text as tag, $2::int * $2::int as square', [tag, i]);
          queries++;
          expect(rows).toEqual([{ tag, square: i * i }]);
        }
      }, errors),
    ]);
    const db = dbs[0]!;
    await sql`create table hammer_counter (id int primary key, n int not null)`.execute(db);
    await sql`insert into hammer_counter values (1, 0)`.execute(db);
    const hostId = await seedHost(db, { providerId: await seedProvider(db, 1) });
    const gpuIds = await seedGpus(db, { hostId, count: PROCESSES * 2 });
    const customerId = await seedCustomer(db);
    const leases = await Promise.all(Array.from({ length: PROCESSES * WORKERS }, () => seedLease(db, customerId)));

    // Read-modify-write under FOR UPDATE, prepared reads, and SKIP LOCKED reservations, all at once.
    const reservations = new Map<string, string>();
    await everywhere(async (k, w) => {
      const leaseId = leases[k * WORKERS + w]!;
      const result = await createInventoryActivities({ db: dbs[k]! }).reserveGpus({
        reservationId: `res-${leaseId}`,
        leaseId,
        gpuModel: 'H100',
        count: 1,
        minTier: 1,
        maxPricePerGpuHour: '2000000',
        excludeProviderIds: [],
        heartbeatTimeoutSeconds: 60,
      });
      if (result.ok) reservations.set(leaseId, result.gpus[0]!.gpuId);
      for (let i = 0; i < INCREMENTS; i++) {
        await dbs[k]!.transaction().execute(async (trx) => {
          const { rows } = await sql<{ n: number }>`select n from hammer_counter where id = ${1} for update`.execute(trx);
          await sql`update hammer_counter set n = ${rows[0]!.n + 1} where id = ${1}`.execute(trx);
        });
        const { rows } = await pools[k]!.query<{ id: string }>('select id from leases where id = $1', [leaseId]);
        queries += 5;
        expect(rows).toEqual([{ id: leaseId }]);
      }
    }, errors);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`pglite-server hammer: ${queries} queries in ${seconds.toFixed(1)} s, ${Math.round(queries / seconds)}/s\n`);

    expect(errors).toEqual([]);
    const { rows } = await sql<{ n: number }>`select n from hammer_counter where id = 1`.execute(db);
    expect(rows[0]!.n).toBe(PROCESSES * WORKERS * INCREMENTS);
    // Every GPU went to exactly one lease; the leases that found none were told so, not double-booked.
    expect(reservations.size).toBe(gpuIds.length);
    expect(new Set(reservations.values())).toEqual(new Set(gpuIds));
    const reserved = await db.selectFrom('gpus').select(['id', 'lease_id']).where('status', '=', 'reserved').execute();
    expect(new Map(reserved.map((gpu) => [gpu.lease_id!, gpu.id]))).toEqual(reservations);
  } finally {
    await Promise.all(dbs.map((db) => db.destroy()));
  }
}, 120_000);

test('a connection that leaves inside its transaction is rolled back and lets the others go on', async () => {
  const leaving = new Client({ connectionString: server.url });
  const pool = new Pool({ connectionString: server.url, max: 2, query_timeout: 10_000 });
  try {
    await leaving.connect();
    await pool.query('create table hammer_left (id int primary key)');
    await leaving.query('begin');
    await leaving.query('insert into hammer_left values ($1)', [1]);
    const waiting = pool.query<{ count: string }>('select count(*) from hammer_left');
    await leaving.end();
    expect((await waiting).rows).toEqual([{ count: '0' }]);
    await pool.query('insert into hammer_left values ($1)', [1]);
  } finally {
    await pool.end();
  }
});
