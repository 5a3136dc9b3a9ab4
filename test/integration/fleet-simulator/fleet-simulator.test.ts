/**
 * The fleet simulator against the real engine: its hosts register with their provider through the
 * API, a lease placed on one of them runs and is settled on-chain from its receipts, and the engine's
 * records say those receipts came from a simulated host with no container.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createProvider } from '../../../infra/db/repositories/providers.repo';
import { Fleet } from '../../../workers/fleet-simulator/fleet';
import { planHosts, SIMULATED_CONTAINER_DETAIL, SIMULATED_TELEMETRY_SUFFIX } from '../../../workers/fleet-simulator/simulated-host';
import { parseSimulatedGpuSpec } from '../../../workers/host-agent/simulated-gpu';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';

let engine: TestEngine;
let keyDir: string;
const stop = new AbortController();
let fleetRun: Promise<void>;
let fleet: Fleet;

beforeAll(async () => {
  engine = await startEngine({ hosts: [], proofIntervalSeconds: 1, settlementPeriodSeconds: 5 });
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'fleet-simulator-test-'));
  const providers = [await createProvider(engine.database.db, 'sim-atlas', 1), await createProvider(engine.database.db, 'sim-borealis', 2)];
  fleet = new Fleet({
    apiUrl: engine.apiUrl,
    hosts: planHosts(3, 'simtest', providers.map((p) => p.apiKey), parseSimulatedGpuSpec('H100:80:2.00x2')),
    keyDir,
    reportIntervalMs: 1_000,
    concurrency: 4,
    logger: pino({ level: 'warn' }),
  });
  let registered!: () => void;
  const allRegistered = new Promise<void>((resolve) => (registered = resolve));
  fleetRun = fleet.run(stop.signal, registered);
  await Promise.race([allRegistered, fleetRun]);
});

afterAll(async () => {
  stop.abort();
  await fleetRun?.catch(() => undefined);
  await engine?.stop();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

test('a lease on a simulated host is settled from its receipts, which are recorded as simulated', async () => {
  const hosts = (await engine.request('GET', '/v1/hosts')).body as { hostId: string; status: string; gpuSource: string }[];
  expect(hosts.map((h) => h.hostId).sort()).toEqual(['simtest-0', 'simtest-1', 'simtest-2']);
  expect(hosts.every((h) => h.gpuSource === 'simulated')).toBe(true);
  // Each identity has its own key.
  const keys = await engine.database.db.selectFrom('hosts').select('public_key').execute();
  expect(new Set(keys.map((k) => k.public_key)).size).toBe(3);

  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'H100', gpuCount: 1, minTier: 2, maxPricePerGpuHour: '3', durationSeconds: 600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  await waitFor(async () => (await engine.request('GET', `/v1/leases/${leaseId}`)).body.status === 'running', 30_000, 'the lease running');

  const settled = await waitFor(async () =>
    engine.database.db.selectFrom('settlements').select(['period', 'status']).where('lease_id', '=', leaseId)
      .where('kind', '=', 'settle').where('status', '=', 'confirmed').executeTakeFirst(), 30_000, 'a period settled on-chain');
  expect(settled.status).toBe('confirmed');

  const assignment = await engine.database.db.selectFrom('assignments').select(['id', 'host_id', 'reported_detail'])
    .where('lease_id', '=', leaseId).executeTakeFirstOrThrow();
  expect(assignment.host_id).toMatch(/^simtest-/);
  expect(assignment.reported_detail).toBe(SIMULATED_CONTAINER_DETAIL);
  const receipts = await engine.database.db.selectFrom('proof_receipts').select(['body', 'payable_ms']).where('assignment_id', '=', assignment.id).execute();
  expect(receipts.length).toBeGreaterThanOrEqual(3);
  for (const { body } of receipts) {
    const telemetry = (body as { telemetry: { source: string; name: string } }).telemetry;
    expect(telemetry.source).toBe('simulated');
    expect(telemetry.name).toBe(`H100${SIMULATED_TELEMETRY_SUFFIX}`);
  }
  expect(receipts.reduce((sum, r) => sum + Number(r.payable_ms), 0)).toBeGreaterThan(0);

  expect((await engine.request('POST', `/v1/leases/${leaseId}/cancel`)).status).toBe(200);
  await waitFor(async () => fleet.stats().runningAssignments === 0, 10_000, 'the simulated host told to stop');
  expect(fleet.stats().receiptsRejected).toBe(0);
}, 60_000);
