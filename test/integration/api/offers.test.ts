/** GET /v1/offers: free GPUs on live hosts, grouped by model, tier, price and memory; public. */
import type { Express } from 'express';
import request from 'supertest';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost, timings } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let t1Id: string;
let t2Id: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  const [t1, t2, t3] = [await newProvider(fresh.db, 1), await newProvider(fresh.db, 2), await newProvider(fresh.db, 3)];
  [t1Id, t2Id] = [t1.id, t2.id];
  const h100 = (price: string) => ({ model: 'H100', vramGb: 80, pricePerGpuHour: price });

  const a = newHost();
  await registerHost(app, t1.auth, a, [h100('2.5'), h100('2.5'), h100('3'), h100('2.5')]);
  const b = newHost();
  await registerHost(app, t2.auth, b, [h100('2.5'), h100('2.5'), h100('2.5'), { model: 'A100', vramGb: 40, pricePerGpuHour: '1' }, { model: 'A100', vramGb: 80, pricePerGpuHour: '1' }]);
  const lost = newHost();
  await registerHost(app, t3.auth, lost, [h100('0.1')]);
  const silent = newHost();
  await registerHost(app, t3.auth, silent, [h100('0.2')]);

  // Not on offer: a reserved GPU, an offline GPU, a lost host, a host silent beyond the heartbeat timeout.
  const customer = await newCustomer(fresh.db);
  await fresh.db.insertInto('leases').values({ id: 'lease-x', customer_id: customer.id, status: 'running', gpu_model: 'H100', gpu_count: 1, min_tier: 1, max_price_per_gpu_hour: '9000000', duration_seconds: 600, image: 'busybox', request_hash: 'x' }).execute();
  await fresh.db.updateTable('gpus').set({ status: 'reserved', lease_id: 'lease-x', reservation_id: 'r' }).where('id', '=', `${a.hostId}-gpu3`).execute();
  await fresh.db.updateTable('gpus').set({ status: 'offline' }).where('id', '=', `${b.hostId}-gpu2`).execute();
  await fresh.db.updateTable('hosts').set({ status: 'lost' }).where('id', '=', lost.hostId).execute();
  const longAgo = new Date(Date.now() - (timings.heartbeatTimeoutSeconds + 5) * 1000);
  await fresh.db.updateTable('hosts').set({ last_heartbeat_at: longAgo }).where('id', '=', silent.hostId).execute();
});

afterAll(() => fresh.drop());

describe('GET /v1/offers', () => {
  test('groups free GPUs of live hosts by model, tier, price and memory, without a key', async () => {
    const res = await request(app).get('/v1/offers');
    expect(res.status).toBe(200);
    // Providers without a record have the new provider's score.
    const only = (providerId: string, available: number) => [{ providerId, available, reliability: 0.75 }];
    expect(res.body).toEqual([
      { gpuModel: 'A100', tier: 2, pricePerGpuHour: '1', vramGb: 40, available: 1, providers: only(t2Id, 1) },
      { gpuModel: 'A100', tier: 2, pricePerGpuHour: '1', vramGb: 80, available: 1, providers: only(t2Id, 1) },
      { gpuModel: 'H100', tier: 1, pricePerGpuHour: '2.5', vramGb: 80, available: 2, providers: only(t1Id, 2) },
      { gpuModel: 'H100', tier: 1, pricePerGpuHour: '3', vramGb: 80, available: 1, providers: only(t1Id, 1) },
      { gpuModel: 'H100', tier: 2, pricePerGpuHour: '2.5', vramGb: 80, available: 2, providers: only(t2Id, 2) },
    ]);
  });

  test('filters by model and by tier (minTier k means tier k or better)', async () => {
    const res = await request(app).get('/v1/offers').query({ gpuModel: 'H100', minTier: 1 });
    expect(res.body.map((o: { tier: number; pricePerGpuHour: string }) => [o.tier, o.pricePerGpuHour])).toEqual([[1, '2.5'], [1, '3']]);
    const tier2 = await request(app).get('/v1/offers').query({ minTier: 2 });
    expect(tier2.body).toHaveLength(5);
    expect((await request(app).get('/v1/offers').query({ gpuModel: 'T4' })).body).toEqual([]);
  });

  test.each(['0', '4', 'best'])('minTier=%s → 400 naming the parameter', async (minTier) => {
    expectProblem(await request(app).get('/v1/offers').query({ minTier }), 400, /query\.minTier/);
  });
});
