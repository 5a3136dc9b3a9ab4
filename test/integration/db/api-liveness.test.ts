/**
 * Hosts report only through the API, so while no API process runs every host falls silent at once.
 * The fleet monitor must not take that for a fleet of lost hosts: it judges a silent host lost only
 * once an API has been up for a whole heartbeat timeout.
 */
import type { Client } from '@temporalio/client';
import { apiUpSeconds, recordApiAlive } from '../../../infra/db/repositories/api-liveness.repo';
import { startFleetMonitor } from '../../../workers/control/fleet-monitor';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedHost, seedProvider } from '../../support/seed';

const TIMEOUT_SECONDS = 10;
let fresh: FreshDatabase;

beforeAll(async () => {
  fresh = await freshDatabase();
});
afterAll(async () => fresh?.drop());

const statusOf = async (hostId: string) =>
  (await fresh.db.selectFrom('hosts').select('status').where('id', '=', hostId).executeTakeFirstOrThrow()).status;

/** Runs the monitor for a few ticks; no lease exists, so it never needs Temporal. */
async function monitorBriefly(): Promise<void> {
  const monitor = startFleetMonitor({ db: fresh.db, client: {} as Client, heartbeatTimeoutSeconds: TIMEOUT_SECONDS, tickMs: 20 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await monitor.stop();
}

test('no live API: up for 0 s; an instance seen lately counts from its start; a stale one does not', async () => {
  await fresh.db.deleteFrom('api_liveness').execute();
  expect(await apiUpSeconds(fresh.db)).toBe(0);
  await recordApiAlive(fresh.db, 'api-a', new Date(Date.now() - 60_000));
  expect(await apiUpSeconds(fresh.db)).toBeGreaterThanOrEqual(59);
  await fresh.db.updateTable('api_liveness').set({ seen_at: new Date(Date.now() - 10_000) }).execute();
  expect(await apiUpSeconds(fresh.db)).toBe(0);
});

test('an instance unseen for a while (PostgreSQL away, the process stalled) is up again only from when it is seen again', async () => {
  await fresh.db.deleteFrom('api_liveness').execute();
  await recordApiAlive(fresh.db, 'api-a', new Date(Date.now() - 60_000));
  // Seen a second ago: the same up-period goes on.
  await fresh.db.updateTable('api_liveness').set({ seen_at: new Date(Date.now() - 1_000) }).execute();
  await recordApiAlive(fresh.db, 'api-a', new Date(Date.now() - 60_000));
  expect(await apiUpSeconds(fresh.db)).toBeGreaterThanOrEqual(59);
  // Unseen for 10 s (it could not write, so it heard nobody): up from now.
  await fresh.db.updateTable('api_liveness').set({ seen_at: new Date(Date.now() - 10_000) }).execute();
  await recordApiAlive(fresh.db, 'api-a', new Date(Date.now() - 60_000));
  expect(await apiUpSeconds(fresh.db)).toBeLessThan(2);
});

test('a host silent while no API ran is not lost; silent while one ran for the timeout, it is', async () => {
  // (Its running containers' missing receipts are judged by the same rule: see fleet-monitor.test.ts.)
  await fresh.db.deleteFrom('api_liveness').execute();
  const providerId = await seedProvider(fresh.db, 1);
  const hostId = await seedHost(fresh.db, { providerId, heartbeatAgeSeconds: 60 });

  await monitorBriefly();
  expect(await statusOf(hostId)).toBe('online');

  // An API that just came back: the hosts get a whole timeout to be heard again.
  await recordApiAlive(fresh.db, 'api-restarted', new Date());
  await monitorBriefly();
  expect(await statusOf(hostId)).toBe('online');

  await recordApiAlive(fresh.db, 'api-long-up', new Date(Date.now() - (TIMEOUT_SECONDS + 5) * 1000));
  await monitorBriefly();
  expect(await statusOf(hostId)).toBe('lost');
});
