/**
 * The embedded default (DATABASE_URL unset): PGlite served over the wire protocol. The same migrations
 * and the same reservation SQL must run on it through plain `pg`, and its data must outlive a restart.
 *
 * The server runs in a child process under tsx, as the launcher runs it: PGlite loads Node built-ins
 * with dynamic import(), which jest's module sandbox refuses.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createControlActivities } from '../../../activities/control';
import { createDb } from '../../../infra/db/connection';
import { migrateToLatest } from '../../../infra/db/migrate';
import { freePort } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const SERVER_SCRIPT = `
const { startEmbeddedPostgres } = require(${JSON.stringify(path.resolve(__dirname, '../../../infra/db/pglite-server.ts'))});
startEmbeddedPostgres({ dataDir: process.env.DATA_DIR, port: Number(process.env.PORT) }).then(
  (server) => {
    process.stdout.write(JSON.stringify({ url: server.url }) + '\\n');
    process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
  },
  (error) => { console.error(error); process.exit(1); },
);`;

interface ServerProcess {
  url: string;
  stop(): Promise<void>;
}

async function startServerProcess(dataDir: string, port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', SERVER_SCRIPT], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let dataDir: string;
let running: ServerProcess | undefined;

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
  running = await startServerProcess(dataDir, port);
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

  running = await startServerProcess(dataDir, port);
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
