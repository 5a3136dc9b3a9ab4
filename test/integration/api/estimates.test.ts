/** POST /v1/estimates: what a lease request would get now, from the free GPUs on live hosts; nothing is created. */
import type { Express } from 'express';
import request from 'supertest';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedGpus, seedHost, seedProvider } from '../../support/seed';
import { buildApp, expectProblem, newCustomer, noWorkflowCalls } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let alice: { id: string; auth: string };

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  alice = await newCustomer(fresh.db);
  const tier1 = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db, 1), tier: 1 });
  const tier2 = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db, 2), tier: 2 });
  const silent = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db, 1), tier: 1, heartbeatAgeSeconds: 3600 });
  await seedGpus(fresh.db, { hostId: tier1, tier: 1, price: 3_200_000n, count: 2 });
  await seedGpus(fresh.db, { hostId: tier2, tier: 2, price: 2_600_000n, count: 2 });
  await seedGpus(fresh.db, { hostId: tier2, tier: 2, price: 2_600_000n, count: 1, status: 'offline' });
  await seedGpus(fresh.db, { hostId: silent, tier: 1, price: 1_000_000n, count: 4 });
  await seedGpus(fresh.db, { hostId: tier1, tier: 1, model: 'A100', price: 1_000_000n, count: 1 });
});

afterAll(() => fresh.drop());

const body = { gpuModel: 'H100', gpuCount: 3, minTier: 2, maxPricePerGpuHour: '3.50', durationSeconds: 600, image: 'busybox' };
const estimate = (payload: object, auth = alice.auth) => request(app).post('/v1/estimates').set('authorization', auth).send(payload);

test('answers the matching free GPUs, cheapest first as reservation picks, the deposit and the costs', async () => {
  const res = await estimate(body);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    gpuModel: 'H100', gpuCount: 3, minTier: 2, maxPricePerGpuHour: '3.5', durationSeconds: 600,
    // The rolling deposit at open: the max rate, ceil(3.50 × 3 / 3600) = 2,917 base units a second, for this 60 s
    // period and the next two (the lease lasts longer): 2,917 × 180.
    deposit: '0.52506',
    available: 4,
    offers: [
      { tier: 2, pricePerGpuHour: '2.6', vramGb: 80, available: 2 },
      { tier: 1, pricePerGpuHour: '3.2', vramGb: 80, available: 2 },
    ],
    placeableNow: true,
    pricesPerGpuHour: ['2.6', '2.6', '3.2'],
    costPerHour: '8.4',
    // Rounded down per GPU as settlements are: 2 × 0.433333 + 0.533333.
    costForDuration: '1.399999',
    shortage: null,
  });
  expect(await fresh.db.selectFrom('leases').select('id').execute()).toEqual([]);
});

test('says what is missing when the request cannot be placed now', async () => {
  const underCap = await estimate({ ...body, maxPricePerGpuHour: '3.00' });
  expect(underCap.body).toMatchObject({
    available: 2, placeableNow: false, pricesPerGpuHour: ['2.6', '2.6'], costPerHour: null, costForDuration: null, deposit: '0.45',
    shortage: '2 of 3 H100 GPUs free now at tier 2 or better and at most 3 per GPU-hour',
  });
  const tierOne = await estimate({ ...body, minTier: 1, gpuCount: 2 });
  expect(tierOne.body).toMatchObject({ available: 2, placeableNow: true, pricesPerGpuHour: ['3.2', '3.2'], costPerHour: '6.4' });
});

test('bad input is a 4xx naming the field, an unknown model a 422, no key a 401', async () => {
  expectProblem(await estimate({ ...body, gpuCount: 0, durationSeconds: 5 }), 400, /gpuCount.*durationSeconds|durationSeconds.*gpuCount/);
  expectProblem(await estimate({ ...body, surprise: 1 }), 400, /surprise: unknown field/);
  expectProblem(await estimate({ ...body, maxPricePerGpuHour: '1.2345678' }), 400, /maxPricePerGpuHour/);
  const unknown = await estimate({ ...body, gpuModel: 'Z9' });
  expectProblem(unknown, 422, /no registered GPU is a "Z9" \(known models: A100, H100\)/);
  expect(unknown.body.errors).toEqual([{ field: 'gpuModel', message: 'unknown GPU model "Z9"' }]);
  expect((await request(app).post('/v1/estimates').send(body)).status).toBe(401);
});
