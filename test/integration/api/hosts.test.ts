/**
 * Hosts are untrusted: registration needs the provider's key AND the host key's signature over the
 * exact body, the tier comes from the provider, and heartbeats are accepted only with the registered key.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { generateHostKey } from '../../../domain/host-key';
import { signRequest } from '../../../domain/signed-request';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import type { TestHost } from './fixtures';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost, registration, signedPost } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let tier3: { id: string; auth: string };
let tier1: { id: string; auth: string };

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  tier3 = await newProvider(fresh.db, 3);
  tier1 = await newProvider(fresh.db, 1);
});

afterAll(() => fresh.drop());

const register = (host: TestHost, body: unknown, auth = tier3.auth, opts: Parameters<typeof signedPost>[4] = {}) =>
  signedPost(app, '/v1/hosts/register', body, host, { ...opts, headers: { authorization: auth, ...opts.headers } });

const hostRow = (hostId: string) => fresh.db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirst();
const gpuRows = (hostId: string) => fresh.db.selectFrom('gpus').selectAll().where('host_id', '=', hostId).orderBy('id').execute();

describe('POST /v1/hosts/register', () => {
  test('registers the host online at its provider’s tier, with its GPUs free', async () => {
    const host = newHost();
    const res = await register(host, registration(host, [{ model: 'H100', pricePerGpuHour: '2.5' }, { model: 'H100', pricePerGpuHour: '2.5' }]));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hostId: host.hostId, providerId: tier3.id, tier: 3 });
    expect(await hostRow(host.hostId)).toMatchObject({ provider_id: tier3.id, public_key: host.key.publicKey, tier: 3, status: 'online', gpu_source: 'simulated', last_heartbeat_at: expect.any(Date) });
    expect((await gpuRows(host.hostId)).map((g) => [g.model, g.tier, g.price_per_gpu_hour, g.status])).toEqual([
      ['H100', 3, '2500000', 'free'],
      ['H100', 3, '2500000', 'free'],
    ]);
  });

  test('a host cannot claim a tier: the field is refused', async () => {
    const host = newHost();
    const res = await register(host, { ...registration(host, [{ model: 'H100', pricePerGpuHour: '1' }]), tier: 1 });
    expectProblem(res, 400, /tier: unknown field/);
    expect(await hostRow(host.hostId)).toBeUndefined();
  });

  test.each([
    ['signed by another key', { signer: { hostId: '', key: generateHostKey() } }, /does not verify/],
    ['signed for another host id', { hostIdHeader: 'someone-else' }, /does not match/],
    ['signed a minute and more ago', { timestamp: Date.now() - 61_000 }, /within 60 s/],
  ])('a registration %s → 401, nothing stored', async (_name, variant, detail) => {
    const host = newHost();
    const signer = 'signer' in variant ? { ...variant.signer, hostId: host.hostId } : host;
    const opts = { ...('hostIdHeader' in variant ? { hostIdHeader: variant.hostIdHeader } : {}), ...('timestamp' in variant ? { timestamp: variant.timestamp } : {}) };
    const res = await signedPost(app, '/v1/hosts/register', registration(host, [{ model: 'H100', pricePerGpuHour: '1' }]), signer, { ...opts, headers: { authorization: tier3.auth } });
    expectProblem(res, 401, detail);
    expect(await hostRow(host.hostId)).toBeUndefined();
  });

  test('a body changed after signing → 401', async () => {
    const host = newHost();
    const signed = JSON.stringify(registration(host, [{ model: 'H100', pricePerGpuHour: '1' }]));
    const timestamp = String(Date.now());
    const signature = signRequest({ method: 'POST', path: '/v1/hosts/register', timestamp, body: signed }, host.key.secretKey);
    const res = await request(app)
      .post('/v1/hosts/register')
      .set({ authorization: tier3.auth, 'content-type': 'application/json', 'x-host-id': host.hostId, 'x-host-timestamp': timestamp, 'x-host-signature': signature })
      .send(signed.replace('"1"', '"0.5"'));
    expectProblem(res, 401, /does not verify/);
    expect(await hostRow(host.hostId)).toBeUndefined();
  });

  test('no provider key, or a customer key → 401', async () => {
    const host = newHost();
    const body = registration(host, [{ model: 'H100', pricePerGpuHour: '1' }]);
    expectProblem(await signedPost(app, '/v1/hosts/register', body, host), 401, /missing API key/);
    const customer = await newCustomer(fresh.db);
    expectProblem(await register(host, body, customer.auth), 401, /invalid provider key/);
    expect(await hostRow(host.hostId)).toBeUndefined();
  });

  test('re-registration updates GPUs, keeps a reserved GPU reserved, and takes undeclared free GPUs offline', async () => {
    const host = newHost();
    const gpu = (n: number) => `${host.hostId}-gpu${n}`;
    await registerHost(app, tier3.auth, host, [0, 1, 2].map((n) => ({ id: gpu(n), model: 'A100', pricePerGpuHour: '1' })));
    const customer = await newCustomer(fresh.db);
    const leaseId = randomUUID();
    await fresh.db.insertInto('leases').values({ id: leaseId, customer_id: customer.id, status: 'running', gpu_model: 'A100', gpu_count: 2, min_tier: 3, max_price_per_gpu_hour: '1000000', duration_seconds: 600, image: 'busybox', request_hash: 'x' }).execute();
    await fresh.db.updateTable('gpus').set({ status: 'reserved', lease_id: leaseId, reservation_id: 'r1' }).where('id', 'in', [gpu(0), gpu(2)]).execute();

    // Declares gpu0 (reserved) at a new price, drops gpu1 (free) and gpu2 (reserved), adds gpu3.
    await registerHost(app, tier3.auth, host, [{ id: gpu(0), model: 'A100', pricePerGpuHour: '1.5' }, { id: gpu(3), model: 'A100', pricePerGpuHour: '1.5' }]);
    expect((await gpuRows(host.hostId)).map((g) => [g.id, g.status, g.price_per_gpu_hour])).toEqual([
      [gpu(0), 'reserved', '1500000'],
      [gpu(1), 'offline', '1000000'],
      [gpu(2), 'reserved', '1000000'],
      [gpu(3), 'free', '1500000'],
    ]);
  });

  test('a host id held by another key or another provider → 409, nothing changed', async () => {
    const host = newHost();
    await registerHost(app, tier3.auth, host, [{ model: 'A100', pricePerGpuHour: '1' }]);
    const impostor = { hostId: host.hostId, key: generateHostKey() };
    expectProblem(await register(impostor, registration(impostor, [{ model: 'A100', pricePerGpuHour: '9' }])), 409, /another public key/);
    expectProblem(await register(host, registration(host, [{ model: 'A100', pricePerGpuHour: '9' }]), tier1.auth), 409, /another provider/);
    expect((await gpuRows(host.hostId)).map((g) => g.price_per_gpu_hour)).toEqual(['1000000']);
    expect(await hostRow(host.hostId)).toMatchObject({ provider_id: tier3.id, public_key: host.key.publicKey });
  });

  test("a GPU id another host holds → 409 and the whole registration is undone", async () => {
    const owner = newHost();
    await registerHost(app, tier3.auth, owner, [{ id: `${owner.hostId}-x`, model: 'A100', pricePerGpuHour: '1' }]);
    const other = newHost();
    const res = await register(other, registration(other, [{ model: 'A100', pricePerGpuHour: '1' }, { id: `${owner.hostId}-x`, model: 'A100', pricePerGpuHour: '1' }]));
    expectProblem(res, 409, /already registered by another host/);
    expect(await hostRow(other.hostId)).toBeUndefined();
  });
});

describe('POST /v1/hosts/:hostId/heartbeat', () => {
  test('brings the host online and answers its live assignments only', async () => {
    const host = newHost();
    const other = newHost();
    await registerHost(app, tier3.auth, host, [{ model: 'L4', pricePerGpuHour: '0.5' }, { model: 'L4', pricePerGpuHour: '0.5' }]);
    await registerHost(app, tier3.auth, other, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    const customer = await newCustomer(fresh.db);
    const leaseId = randomUUID();
    await fresh.db.insertInto('leases').values({ id: leaseId, customer_id: customer.id, status: 'running', gpu_model: 'L4', gpu_count: 2, min_tier: 3, max_price_per_gpu_hour: '1000000', duration_seconds: 600, image: 'busybox', request_hash: 'x' }).execute();
    const assignment = { lease_id: leaseId, provider_id: tier3.id, tier: 3, price_per_gpu_hour: '500000', rank: 0, started_at: new Date() };
    await fresh.db.insertInto('assignments').values([
      { ...assignment, id: 'ended', gpu_id: `${host.hostId}-gpu0`, host_id: host.hostId, epoch: 0, ended_at: new Date(), end_reason: 'host_lost' },
      { ...assignment, id: 'live', gpu_id: `${host.hostId}-gpu1`, host_id: host.hostId, epoch: 1 },
      { ...assignment, id: 'elsewhere', gpu_id: `${other.hostId}-gpu0`, host_id: other.hostId, epoch: 0, rank: 1 },
    ]).execute();
    await fresh.db.updateTable('hosts').set({ status: 'lost', last_heartbeat_at: new Date(0) }).where('id', '=', host.hostId).execute();

    const path = `/v1/hosts/${host.hostId}/heartbeat`;
    const res = await signedPost(app, path, { at: Date.now(), containers: [{ assignmentId: 'live', epoch: 1, state: 'running' }] }, host);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ liveAssignments: [{ assignmentId: 'live', epoch: 1 }] });
    const row = await hostRow(host.hostId);
    expect(row?.status).toBe('online');
    expect(Date.now() - (row?.last_heartbeat_at?.getTime() ?? 0)).toBeLessThan(10_000);
  });

  test('a heartbeat signed by another key, or for another host, → 401 and nothing recorded', async () => {
    const host = newHost();
    await registerHost(app, tier3.auth, host, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    await fresh.db.updateTable('hosts').set({ status: 'lost' }).where('id', '=', host.hostId).execute();
    const beat = { at: Date.now(), containers: [] };
    const forged = { hostId: host.hostId, key: generateHostKey() };
    expectProblem(await signedPost(app, `/v1/hosts/${host.hostId}/heartbeat`, beat, forged), 401, /does not verify/);
    const neighbour = newHost();
    await registerHost(app, tier3.auth, neighbour, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    expectProblem(await signedPost(app, `/v1/hosts/${host.hostId}/heartbeat`, beat, neighbour), 401, /does not match/);
    expect((await hostRow(host.hostId))?.status).toBe('lost');
  });

  test('an unknown host → 404; a malformed heartbeat → 400 naming the field', async () => {
    const ghost = newHost();
    expectProblem(await signedPost(app, `/v1/hosts/${ghost.hostId}/heartbeat`, { at: 1, containers: [] }, ghost), 404, /not registered/);
    const host = newHost();
    await registerHost(app, tier3.auth, host, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    const res = await signedPost(app, `/v1/hosts/${host.hostId}/heartbeat`, { at: 1, containers: [{ assignmentId: 'a', epoch: 0, state: 'dancing' }] }, host);
    expectProblem(res, 400, /containers\[0\]\.state/);
  });
});

describe('GET /v1/hosts', () => {
  test('lists hosts with provider, tier, status and GPUs; no key needed', async () => {
    const host = newHost();
    await registerHost(app, tier1.auth, host, [{ model: 'B200', vramGb: 192, pricePerGpuHour: '7' }]);
    const res = await request(app).get('/v1/hosts');
    expect(res.status).toBe(200);
    expect(res.body.find((h: { hostId: string }) => h.hostId === host.hostId)).toEqual({
      hostId: host.hostId, providerId: tier1.id, providerName: expect.stringMatching(/^provider-/), tier: 1, status: 'online',
      gpuSource: 'simulated', lastHeartbeatAt: expect.any(String),
      gpus: [{ id: `${host.hostId}-gpu0`, model: 'B200', vramGb: 192, pricePerGpuHour: '7', status: 'free' }],
    });
  });
});
