/**
 * The embedded default (DATABASE_URL unset): PGlite served over the wire protocol. The same migrations
 * and the same reservation SQL must run on it through plain `pg`, and its data must outlive a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../../../activities/control';
import { createDb } from '../../../infra/db/connection';
import { migrateToLatest } from '../../../infra/db/migrate';
import { freePort } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';
import type { EmbeddedPostgresProcess } from './pglite-process';
import { startEmbeddedPostgresProcess } from './pglite-process';

let dataDir: string;
let running: EmbeddedPostgresProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-pglite-'));
});

afterAll(async () => {
  await running?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

// PGlite's first start (initdb in WebAssembly) takes several seconds on a busy 2-core machine.
test('migrates, reserves through several pg connections, and keeps its data across a restart', async () => {
  const port = await freePort();
  running = await startEmbeddedPostgresProcess(dataDir, port);
  let db = createDb(running.url, { max: 3 });
  let gpuIds: string[];
  let leases: string[];
  try {
    await migrateToLatest(db);
    const hostId = await seedHost(db, { providerId: await seedProvider(db, 1) });
    gpuIds = await seedGpus(db, { hostId, count: 3 });
    const customerId = await seedCustomer(db);
    leases = [await seedLease(db, customerId), await seedLease(db, customerId)];

    const activities = createControlActivities({ db });
    const reserve = (leaseId: string) =>
      activities.reserveGpus({
        reservationId: `res-${leaseId}`,
        leaseId,
        gpuModel: 'H100',
        count: 1,
        minTier: 1,
        maxPricePerGpuHour: '2000000',
        excludeProviderIds: [],
        heartbeatTimeoutSeconds: 10,
      });
    // Two connections at once: the socket server serialises their transactions.
    const results = await Promise.all(leases.map(reserve));
    const taken = results.map((result) => (result.ok ? result.gpus[0]!.gpuId : 'none'));
    expect(new Set(taken).size).toBe(2);
    expect(taken.every((id) => gpuIds.includes(id))).toBe(true);
    expect(await reserve(leases[0]!)).toEqual(results[0]);
  } finally {
    await db.destroy();
    await running.stop();
  }

  running = await startEmbeddedPostgresProcess(dataDir, port);
  db = createDb(running.url, { max: 2 });
  try {
    await migrateToLatest(db);
    const reserved = await db.selectFrom('gpus').select(['id', 'lease_id']).where('status', '=', 'reserved').orderBy('lease_id').execute();
    expect(reserved.map((row) => row.lease_id).sort()).toEqual([...leases].sort());
  } finally {
    await db.destroy();
    await running.stop();
    running = undefined;
  }
}, 90_000);
