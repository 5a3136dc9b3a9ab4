/**
 * Bad input to POST /v1/leases is answered 4xx with a problem that names what is wrong, and nothing
 * is created: no lease row, and (the orchestrator here throws on any call) no workflow.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let auth: string;

const valid = {
  gpuModel: 'H100',
  gpuCount: 2,
  minTier: 2,
  maxPricePerGpuHour: '3.5',
  durationSeconds: 3600,
  image: 'lease-engine/busybox:local',
  command: ['sleep', '60'],
  env: { MODEL_NAME: 'llama' },
};

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  auth = (await newCustomer(fresh.db)).auth;
  const provider = await newProvider(fresh.db, 1);
  await registerHost(app, provider.auth, newHost(), [{ model: 'H100', pricePerGpuHour: '2.5' }]);
});

afterAll(() => fresh.drop());

async function leaseCount(): Promise<number> {
  const row = await fresh.db.selectFrom('leases').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Sends `body` and checks that the answer names `field` and that no lease exists afterwards. */
async function expectRejected(body: unknown, status: number, field: string, message: RegExp) {
  const res = await request(app).post('/v1/leases').set('authorization', auth).send(body as object);
  expectProblem(res, status, message);
  expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  expect(await leaseCount()).toBe(0);
}

const cases: [string, Record<string, unknown>, string, RegExp][] = [
  ['an unknown field', { ...valid, priority: 'high' }, 'priority', /priority: unknown field/],
  ['gpuCount of the wrong type', { ...valid, gpuCount: '2' }, 'gpuCount', /gpuCount: .*expected number/],
  ['a fractional gpuCount', { ...valid, gpuCount: 1.5 }, 'gpuCount', /gpuCount: .*int/],
  ['gpuCount 0', { ...valid, gpuCount: 0 }, 'gpuCount', /gpuCount: .*>=1/],
  ['gpuCount 65', { ...valid, gpuCount: 65 }, 'gpuCount', /gpuCount: .*<=64/],
  ['durationSeconds 59', { ...valid, durationSeconds: 59 }, 'durationSeconds', /durationSeconds: .*>=60/],
  ['durationSeconds over 30 days', { ...valid, durationSeconds: 30 * 86_400 + 1 }, 'durationSeconds', /durationSeconds: .*<=2592000/],
  ['minTier 0', { ...valid, minTier: 0 }, 'minTier', /minTier: .*>=1/],
  ['minTier 4', { ...valid, minTier: 4 }, 'minTier', /minTier: .*<=3/],
  ['a price with 7 decimals', { ...valid, maxPricePerGpuHour: '1.2345678' }, 'maxPricePerGpuHour', /more than 6 decimals/],
  ['a negative price', { ...valid, maxPricePerGpuHour: '-1' }, 'maxPricePerGpuHour', /negative/],
  ['a price that is no number', { ...valid, maxPricePerGpuHour: 'abc' }, 'maxPricePerGpuHour', /not a decimal number/],
  ['a price as a JSON number', { ...valid, maxPricePerGpuHour: 1.25 }, 'maxPricePerGpuHour', /expected string/],
  ['a zero price', { ...valid, maxPricePerGpuHour: '0' }, 'maxPricePerGpuHour', /greater than 0/],
  ['an empty image', { ...valid, image: '' }, 'image', /image: /],
  ['an image over 255 characters', { ...valid, image: 'x'.repeat(256) }, 'image', /image: .*<=255/],
  ['a command that is not all strings', { ...valid, command: ['sleep', 60] }, 'command[1]', /command\[1\]: .*expected string/],
  ['an env name a shell would refuse', { ...valid, env: { 'bad-name': 'x' } }, 'env.bad-name', /env\.bad-name: invalid name/],
  ['an env name the engine reserves', { ...valid, env: { LEASE_RANK: '3' } }, 'env.LEASE_RANK', /set by the engine/],
  ['a missing gpuModel', { ...valid, gpuModel: undefined }, 'gpuModel', /gpuModel: .*expected string/],
];

describe('POST /v1/leases refuses bad input and creates nothing', () => {
  test.each(cases)('%s', async (_name, body, field, message) => {
    await expectRejected(body, 400, field, message);
  });

  test('a body that is an array', async () => {
    await expectRejected([valid], 400, 'body', /expected object/);
  });

  test('a GPU model no registered GPU has → 422 naming it', async () => {
    await expectRejected({ ...valid, gpuModel: 'B200' }, 422, 'gpuModel', /"B200".*known models: H100/);
  });

  test('malformed JSON → 400 "malformed JSON body"', async () => {
    const res = await request(app).post('/v1/leases').set({ authorization: auth, 'content-type': 'application/json' }).send('{"gpuModel":');
    expectProblem(res, 400, /malformed JSON body/);
    expect(res.body.title).toBe('malformed JSON body');
    expect(await leaseCount()).toBe(0);
  });

  test('a body over 64 kB → 413', async () => {
    const res = await request(app).post('/v1/leases').set('authorization', auth).send({ ...valid, image: 'x'.repeat(70_000) });
    expectProblem(res, 413, /64 kB/);
    expect(await leaseCount()).toBe(0);
  });

  test('a body that is not JSON → 415', async () => {
    const res = await request(app).post('/v1/leases').set({ authorization: auth, 'content-type': 'text/plain' }).send('gpuModel=H100');
    expectProblem(res, 415, /application\/json/);
    expect(await leaseCount()).toBe(0);
  });

  test('an Idempotency-Key over 255 characters → 400 naming the header', async () => {
    const res = await request(app).post('/v1/leases').set({ authorization: auth, 'idempotency-key': 'k'.repeat(256) }).send(valid);
    expectProblem(res, 400, /headers\.idempotency-key/);
    expect(await leaseCount()).toBe(0);
  });
});

describe('POST /v1/leases without a valid customer key', () => {
  test('no Authorization header → 401', async () => {
    const res = await request(app).post('/v1/leases').send(valid);
    expectProblem(res, 401, /missing API key/);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(await leaseCount()).toBe(0);
  });

  test('a key nobody holds → 401', async () => {
    const res = await request(app).post('/v1/leases').set('authorization', 'Bearer le_cus_doesnotexist').send(valid);
    expectProblem(res, 401, /invalid API key/);
    expect(await leaseCount()).toBe(0);
  });

  test('a provider key is not a customer key → 401', async () => {
    const provider = await newProvider(fresh.db, 2);
    const res = await request(app).post('/v1/leases').set('authorization', provider.auth).send(valid);
    expectProblem(res, 401, /invalid API key/);
    expect(await leaseCount()).toBe(0);
  });

  test('authentication comes before parsing: malformed JSON without a key → 401', async () => {
    const res = await request(app).post('/v1/leases').set('content-type', 'application/json').send('{');
    expectProblem(res, 401, /missing API key/);
  });
});
