/**
 * The `lease-engine` bin as a customer runs it: a real process against the API in-process on a real
 * PostgreSQL. The workflow side is a stand-in that answers as the lease workflow does and writes its
 * status changes through the same activity; the real workflow is covered by the engine tests.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createControlActivities } from '../../../activities/control';
import type { LeaseOrchestrator } from '../../../api/lease-orchestrator';
import type { CancelLeaseResult, ExtendLeaseResult, LeaseWorkflowInput } from '../../../workflows/messages';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedGpus, seedHost, seedProvider } from '../../support/seed';
import { buildApp, newCustomer } from './fixtures';

const BIN = path.resolve(__dirname, '../../../bin/lease-engine.js');

let fresh: FreshDatabase;
let server: Server;
let apiUrl: string;
let alice: { apiKey: string };
let home: string;

class StandInOrchestrator implements LeaseOrchestrator {
  constructor(private readonly activities: ReturnType<typeof createControlActivities>) {}
  async start(input: LeaseWorkflowInput): Promise<void> {
    await this.activities.recordLeaseStatus({ leaseId: input.leaseId, status: 'dispatching' });
    await this.activities.recordLeaseStatus({ leaseId: input.leaseId, status: 'running', startedAt: Date.now(), endsAt: Date.now() + 600_000 });
  }
  async extend(_leaseId: string, seconds: number): Promise<ExtendLeaseResult> {
    return { durationSeconds: 600 + seconds, endsAt: Date.now() + (600 + seconds) * 1000 };
  }
  async cancel(leaseId: string): Promise<CancelLeaseResult> {
    await this.activities.recordLeaseStatus({ leaseId, status: 'closing' });
    await this.activities.recordLeaseStatus({ leaseId, status: 'cancelled', endReason: 'cancelled by customer', endedAt: Date.now() });
    return { status: 'cancelled' };
  }
}

beforeAll(async () => {
  fresh = await freshDatabase();
  const app = buildApp(fresh.db, new StandInOrchestrator(createControlActivities({ db: fresh.db })), { events: { tickMs: 50 } });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  alice = await newCustomer(fresh.db);
  const hostId = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db, 1) });
  await seedGpus(fresh.db, { hostId, price: 3_200_000n, count: 2 });
  home = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-cli-'));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await fresh?.drop();
  await rm(home, { recursive: true, force: true });
});

/** Runs the bin; the key from the environment unless `env` says otherwise. */
function cli(args: string[], env: Record<string, string> = { LEASE_ENGINE_API_KEY: alice.apiKey }): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1', LEASE_ENGINE_API_URL: apiUrl, ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr }));
  });
}

const request = ['--gpu-model', 'H100', '--gpus', '2', '--min-tier', '1', '--max-price', '3.50', '--duration', '600'];

test('a lease from create to cancel, with --json, exit codes and the cost', async () => {
  const estimate = await cli(['estimate', ...request, '--json']);
  expect(estimate.code).toBe(0);
  // The rolling deposit at open: ceil(3.50 × 2 / 3600) = 1,945 base units a second for this 60 s period and the next two.
  expect(JSON.parse(estimate.out)).toMatchObject({ deposit: '0.3501', placeableNow: true, costPerHour: '6.4' });

  const created = await cli(['lease', 'create', ...request, '--image', 'busybox', '--json', '--', 'sleep', '600']);
  expect(created).toMatchObject({ code: 0, err: '' });
  const lease = JSON.parse(created.out);
  expect(lease).toMatchObject({ id: expect.any(String), status: 'running', gpuCount: 2 });

  const listed = await cli(['lease', 'ls', '--json']);
  expect(JSON.parse(listed.out).map((l: { id: string }) => l.id)).toEqual([lease.id]);
  const table = await cli(['lease', 'ls']);
  expect(table.out).toMatch(new RegExp(`^ID\\s+STATUS[\\s\\S]*${lease.id}\\s+running\\s+2\\s+H100`, 'm'));

  const got = await cli(['lease', 'get', lease.id]);
  expect(got.out).toContain(`status    running`);

  const extended = await cli(['lease', 'extend', lease.id, '--seconds', '60', '--json']);
  expect(extended.code).toBe(0);
  expect(JSON.parse(extended.out).durationSeconds).toBe(660);

  const cancelled = await cli(['lease', 'cancel', lease.id]);
  expect(cancelled).toMatchObject({ code: 0, out: `lease ${lease.id} cancelled\n` });
  const again = await cli(['lease', 'cancel', lease.id]);
  expect(again.code).toBe(4);
  expect(again.err).toMatch(/is cancelled; a finished lease cannot be cancelled/);

  const cost = await cli(['lease', 'cost', lease.id, '--json']);
  expect(JSON.parse(cost.out)).toEqual({ leaseId: lease.id, status: 'cancelled', escrow: null, deposited: '0', paidToProviders: '0', fees: '0',
    burned: '0', refunded: '0', held: '0', settlements: 0, providers: [] });

  // Its events, one JSON line each, then the end.
  const watched = await cli(['lease', 'watch', lease.id, '--json']);
  expect(watched.code).toBe(0);
  const lines = watched.out.trim().split('\n').map((line) => JSON.parse(line));
  expect(lines.map((e: { kind: string; data?: { status?: string } }) => e.data?.status ?? e.kind)).toEqual(
    ['reserving', 'dispatching', 'running', 'closing', 'cancelled', 'end'],
  );
  const human = await cli(['lease', 'watch', lease.id]);
  expect(human.code).toBe(0);
  expect(human.err).toMatch(/lease running[\s\S]*lease cancelled: cancelled by customer/);
}, 120_000);

test('not found exits 3, no key exits 2, the config file is read, flags win', async () => {
  const missing = await cli(['lease', 'get', '00000000-0000-4000-8000-000000000000']);
  expect(missing.code).toBe(3);
  expect(missing.err).toMatch(/no lease/);
  const noKey = await cli(['lease', 'ls'], {});
  expect(noKey).toMatchObject({ code: 2, err: expect.stringContaining('no API key: pass --api-key or set LEASE_ENGINE_API_KEY') });

  await writeFile(path.join(home, 'config.json'), JSON.stringify({ apiUrl, apiKey: alice.apiKey }));
  const fromFile = await cli(['lease', 'ls', '--json'], { LEASE_ENGINE_CONFIG: path.join(home, 'config.json'), LEASE_ENGINE_API_URL: '' });
  expect(fromFile.code).toBe(0);
  const badFlag = await cli(['lease', 'ls', '--api-key', 'wrong'], { LEASE_ENGINE_CONFIG: path.join(home, 'config.json') });
  expect(badFlag).toMatchObject({ code: 1, err: expect.stringMatching(/API key was refused/) });
}, 60_000);
