/**
 * /v1/operator/* and the dashboard's files on a real PostgreSQL: an operator key made by the real
 * `lease-engine operators create` command, the fleet, hosts, providers, the network's money over time
 * and every lease read back from rows written as the engine writes them.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Express } from 'express';
import request from 'supertest';
import { insertLease } from '../../../infra/db/repositories/leases.repo';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedGpus, seedHost, seedProvider } from '../../support/seed';
import { buildApp, expectProblem, newCustomer, noWorkflowCalls } from './fixtures';

const BIN = path.resolve(__dirname, '../../../bin/lease-engine.js');

let fresh: FreshDatabase;
let app: Express;
let operatorAuth: string;
let customer: { id: string; auth: string };
let providerA: string;
let providerB: string;
let healthyHost: string;
let leaseId: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls, { temporalUi: { url: 'http://127.0.0.1:8233/', namespace: 'default' } });
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'operators', 'create', 'ops'], {
    env: { ...process.env, DATABASE_URL: fresh.url },
  });
  const created = JSON.parse(stdout) as { id: string; apiKey: string };
  expect(created).toEqual({ id: expect.any(String), apiKey: expect.stringMatching(/^le_opr_/) });
  operatorAuth = `Bearer ${created.apiKey}`;
  customer = await newCustomer(fresh.db);

  providerA = await seedProvider(fresh.db, 1);
  providerB = await seedProvider(fresh.db, 2);
  healthyHost = await seedHost(fresh.db, { providerId: providerA });
  const lostHost = await seedHost(fresh.db, { providerId: providerB, tier: 2, status: 'lost', heartbeatAgeSeconds: 60 });
  const sickHost = await seedHost(fresh.db, { providerId: providerB, tier: 2 });
  await fresh.db.updateTable('hosts').set({ unhealthy_until: new Date(Date.now() + 600_000) }).where('id', '=', sickHost).execute();
  await seedGpus(fresh.db, { hostId: healthyHost, count: 3 });
  const [heldGpu] = await seedGpus(fresh.db, { hostId: healthyHost, count: 1 });
  await seedGpus(fresh.db, { hostId: lostHost, model: 'A100', tier: 2, count: 2 });
  await seedGpus(fresh.db, { hostId: sickHost, model: 'A100', tier: 2, count: 1 });

  leaseId = randomUUID();
  await insertLease(fresh.db, { id: leaseId, customer_id: customer.id, status: 'running', gpu_model: 'H100', gpu_count: 1, min_tier: 1,
    max_price_per_gpu_hour: 2_500_000n, duration_seconds: 600, image: 'busybox', request_hash: randomUUID() });
  await fresh.db.updateTable('gpus').set({ status: 'reserved', lease_id: leaseId, reservation_id: randomUUID() })
    .where('id', '=', heldGpu!).execute();
  await fresh.db.insertInto('escrows').values({ lease_id: leaseId, address: 'Lease1111', vault: 'Vault1111', customer_wallet: 'Wallet1111',
    mint: 'Mint1111', deposited: 416_667n, max_rate_per_second: 695n, duration_seconds: 600n, status: 'open', open_signature: 'open-1',
    opened_at: new Date() }).execute();
  // Two confirmed settlements an hour apart and a pending one that must not count.
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const [period, status, confirmedAt] of [[1, 'confirmed', hourAgo], [2, 'confirmed', new Date()], [3, 'pending', null]] as const) {
    await fresh.db.insertInto('settlements').values({ lease_id: leaseId, period, kind: 'settle', status, signature: `sig-${period}`,
      transaction: 'AA==', last_valid_block_height: 1, receipts_digest: 'ab'.repeat(32), gross: 10_000n, fee: 500n, burned: 100n,
      confirmed_at: confirmedAt }).execute();
    await fresh.db.insertInto('settlement_payouts').values({ lease_id: leaseId, period: String(period), provider_id: providerA,
      token_account: 'Token1111', seconds: 18, gross: '10000', net: '9400', fee: '500', burn: '100' }).execute();
  }
});

afterAll(() => fresh.drop());

const get = (url: string, auth = operatorAuth) => request(app).get(url).set({ authorization: auth });

test('only an operator key opens /v1/operator: no key, a customer key or a made-up one are 401', async () => {
  expect((await request(app).get('/v1/operator/fleet')).status).toBe(401);
  expectProblem(await get('/v1/operator/fleet', customer.auth), 401, /operator key/);
  expectProblem(await get('/v1/operator/hosts', 'Bearer le_opr_nothing'), 401, /operator key/);
  // And an operator key is no customer key.
  expectProblem(await request(app).get('/v1/leases').set({ authorization: operatorAuth }), 401, /invalid API key/);
});

test('the fleet by tier and model: free counts only GPUs a lease could get now', async () => {
  const res = await get('/v1/operator/fleet');
  expect(res.status).toBe(200);
  expect(res.body).toEqual([
    { tier: 1, model: 'H100', total: 4, free: 3, leased: 1 },
    { tier: 2, model: 'A100', total: 3, free: 0, leased: 0 },
  ]);
});

test('hosts with their last report and health', async () => {
  const res = await get('/v1/operator/hosts');
  const byHealth = Object.fromEntries((res.body as { health: string; providerId: string; lastReportAt: string | null }[])
    .map((h) => [h.health, h]));
  expect(Object.keys(byHealth).sort()).toEqual(['healthy', 'lost', 'unhealthy']);
  expect(byHealth.healthy).toMatchObject({ hostId: healthyHost, providerId: providerA, gpus: 4, gpusLeased: 1, liveAssignments: 0 });
  expect(Date.parse(byHealth.lost!.lastReportAt!)).toBeLessThan(Date.now() - 50_000);
  expect(byHealth.unhealthy).toMatchObject({ providerId: providerB, unhealthyUntil: expect.any(String) });
});

test('providers with their earnings from confirmed settlements only', async () => {
  const res = await get('/v1/operator/providers');
  const a = (res.body as { id: string }[]).find((p) => p.id === providerA);
  const b = (res.body as { id: string }[]).find((p) => p.id === providerB);
  expect(a).toEqual({ id: providerA, name: providerA, tier: 1, hosts: 1,
    earnings: { gross: '0.02', net: '0.0188', fee: '0.001', burn: '0.0002', seconds: 36, settlements: 2 } });
  expect(b).toMatchObject({ hosts: 2, earnings: { gross: '0', net: '0', seconds: 0, settlements: 0 } });
});

test('network health per bucket: compute sold against paid to providers, fees and burn; bad buckets are 400', async () => {
  const res = await get('/v1/operator/network-health?bucket=hour');
  expect(res.status).toBe(200);
  expect(res.body.bucket).toBe('hour');
  expect(res.body.points).toHaveLength(2);
  expect(res.body.points[0]).toEqual({ start: expect.any(String), computeSold: '0.01', paidToProviders: '0.0094', fees: '0.0005',
    burned: '0.0001', refunded: '0', settlements: 1, gpuSeconds: 18 });
  expect(Date.parse(res.body.points[0].start)).toBeLessThan(Date.parse(res.body.points[1].start));
  expect((await get('/v1/operator/network-health?bucket=hour&limit=1')).body.points).toHaveLength(1);
  expectProblem(await get('/v1/operator/network-health?bucket=week'), 400, /bucket/);
  expectProblem(await get('/v1/operator/network-health?limit=0'), 400, /limit/);
});

test('every lease, linked to its workflow in the Temporal UI', async () => {
  const res = await get('/v1/operator/leases');
  expect(res.body).toEqual([expect.objectContaining({
    id: leaseId, customerId: customer.id, status: 'running', workflowId: `lease-${leaseId}`,
    temporalUrl: `http://127.0.0.1:8233/namespaces/default/workflows/lease-${leaseId}`,
  })]);
  expect((await get('/v1/operator/leases?status=cancelled')).body).toEqual([]);
  expectProblem(await get('/v1/operator/leases?status=bogus'), 400, /status/);
});

test('the dashboard page at / and its modules under /dashboard/, with a strict content security policy', async () => {
  const page = await request(app).get('/');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
  expect(page.text).toMatch(/<main/);
  const script = await request(app).get('/dashboard/js/main.js');
  expect(script.status).toBe(200);
  expect(script.headers['content-type']).toMatch(/javascript/);
  expect((await request(app).get('/dashboard/../package.json')).status).toBe(404);
  expect((await request(app).get('/openapi.json')).body.paths['/v1/operator/network-health']).toBeDefined();
});
