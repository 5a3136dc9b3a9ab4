/**
 * Hosts are untrusted: registration needs the provider's key AND the host key's signature over the
 * exact body, the tier comes from the provider; a host reads its own desired state only (a long poll)
 * and its reports are accepted only with the registered key, validated in full and rate-limited.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import bs58 from 'bs58';
import type { Express } from 'express';
import { sql } from 'kysely';
import request from 'supertest';
import { generateHostKey } from '../../../domain/host-key';
import { HOST_SIGNATURE_HEADERS, signRequest } from '../../../domain/signed-request';
import type { OpenOptions } from '../../support/assignments';
import { openTestAssignment, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedLease } from '../../support/seed';
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

/** GETs `path` (with its query) signed by `signer` the way workers/host-agent signs. */
function signedGet(app: Express, path: string, signer: TestHost) {
  const timestamp = String(Date.now());
  const signature = signRequest({ method: 'GET', path, timestamp, body: '' }, signer.key.secretKey);
  return request(app).get(path).set({
    [HOST_SIGNATURE_HEADERS.hostId]: signer.hostId,
    [HOST_SIGNATURE_HEADERS.timestamp]: timestamp,
    [HOST_SIGNATURE_HEADERS.signature]: signature,
  });
}

/** A registered host with two L4 GPUs, and a lease its assignments can belong to. */
async function hostWithLease(): Promise<{ host: TestHost; leaseId: string }> {
  const host = newHost();
  await registerHost(app, tier3.auth, host, [{ model: 'L4', pricePerGpuHour: '0.5' }, { model: 'L4', pricePerGpuHour: '0.5' }]);
  const customer = await newCustomer(fresh.db);
  return { host, leaseId: await seedLease(fresh.db, customer.id) };
}

/** Opens an assignment of the host's first GPU, as the lease workflow does. */
const openOn = (host: TestHost, leaseId: string, opts: OpenOptions = {}) =>
  openTestAssignment(fresh.db, leaseId, { gpuId: `${host.hostId}-gpu0`, hostId: host.hostId, providerId: tier3.id, tier: 3, model: 'L4', pricePerGpuHour: '500000' }, opts);

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

  test('a small-order host key → 400 naming publicKey, though its forged signature would verify natively; nothing stored', async () => {
    // The identity point: R = identity, S = 0 "signs" every message for it under a cofactorless check.
    const identity = `01${'00'.repeat(31)}`;
    const hostId = newHost().hostId;
    const body = JSON.stringify({ hostId, publicKey: bs58.encode(Buffer.from(identity, 'hex')), gpuSource: 'simulated', gpus: [{ id: `${hostId}-gpu0`, model: 'H100', vramGb: 80, pricePerGpuHour: '1' }] });
    const res = await request(app)
      .post('/v1/hosts/register')
      .set({ authorization: tier3.auth, 'content-type': 'application/json', 'x-host-id': hostId, 'x-host-timestamp': String(Date.now()), 'x-host-signature': `${identity}${'00'.repeat(32)}` })
      .send(body);
    expectProblem(res, 400, /publicKey: must be a sound ed25519 public key/);
    expect(await hostRow(hostId)).toBeUndefined();
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

describe('GET /v1/hosts/:hostId/desired', () => {
  test("answers the host's own assignments only, with their container and challenge", async () => {
    const { host, leaseId } = await hostWithLease();
    const other = newHost();
    await registerHost(app, tier3.auth, other, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    const mine = await openOn(host, leaseId, { container: { image: 'img:1', env: { A: 'b' }, worldSize: 2, headHost: host.hostId } });
    const theirs = await openOn(other, leaseId, { rank: 1 });

    const res = await signedGet(app, `/v1/hosts/${host.hostId}/desired`, host);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: 1,
      assignments: [{
        assignmentId: mine.assignmentId, leaseId, epoch: 0, gpuId: `${host.hostId}-gpu0`, rank: 0, worldSize: 2, headHost: host.hostId,
        image: 'img:1', command: null, env: { A: 'b' }, state: 'run', proofIntervalMs: 1_000, period: 1, challengeSeed: 'seed-1', chainTip: null,
      }],
    });
    const theirsAnswer = await signedGet(app, `/v1/hosts/${other.hostId}/desired`, other);
    expect(theirsAnswer.body.assignments.map((a: { assignmentId: string }) => a.assignmentId)).toEqual([theirs.assignmentId]);
  });

  test("another host's signature, or another key → 401; an unknown host → 404; a bad query → 400 naming it", async () => {
    const { host, leaseId } = await hostWithLease();
    await openOn(host, leaseId);
    const neighbour = newHost();
    await registerHost(app, tier3.auth, neighbour, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    const path = `/v1/hosts/${host.hostId}/desired`;
    expectProblem(await signedGet(app, path, neighbour), 401, /does not match/);
    expectProblem(await signedGet(app, path, { hostId: host.hostId, key: generateHostKey() }), 401, /does not verify/);
    // The neighbour signs for the host id it asks about, but with its own key.
    expectProblem(await signedGet(app, path, { ...neighbour, hostId: host.hostId }), 401, /does not verify/);
    const ghost = newHost();
    expectProblem(await signedGet(app, `/v1/hosts/${ghost.hostId}/desired`, ghost), 404, /not registered/);
    expectProblem(await signedGet(app, `${path}?waitMs=60000`, host), 400, /query\.waitMs/);
    expectProblem(await signedGet(app, `${path}?after=-1`, host), 400, /query\.after/);
  });

  test('a long poll answers as soon as the desired state changes, before waitMs', async () => {
    const { host, leaseId } = await hostWithLease();
    const path = `/v1/hosts/${host.hostId}/desired`;
    const { version } = (await signedGet(app, path, host)).body as { version: number };
    const waitMs = 10_000;
    const started = Date.now();
    const polling = signedGet(app, `${path}?after=${version}&waitMs=${waitMs}`, host).then((res) => ({ res, at: Date.now() }));
    await sleep(300);
    const opened = await openOn(host, leaseId);
    const { res, at } = await polling;
    expect(res.status).toBe(200);
    expect(res.body.version).toBeGreaterThan(version);
    expect(res.body.assignments.map((a: { assignmentId: string }) => a.assignmentId)).toEqual([opened.assignmentId]);
    // It waited for the change (not answered at once) and did not wait out waitMs.
    expect(at - started).toBeGreaterThanOrEqual(300);
    expect(at - started).toBeLessThan(waitMs);
  });

  test('a long poll with nothing changed answers at waitMs with the same version', async () => {
    const { host } = await hostWithLease();
    const path = `/v1/hosts/${host.hostId}/desired`;
    const { version } = (await signedGet(app, path, host)).body as { version: number };
    const started = Date.now();
    const res = await signedGet(app, `${path}?after=${version}&waitMs=600`, host);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(version);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
  });
});

describe('POST /v1/hosts/:hostId/reports', () => {
  test('accepts valid receipts and records container states; the answer gives the tips', async () => {
    const { host, leaseId } = await hostWithLease();
    const a = await openOn(host, leaseId);
    const receipts = signChain(a, host.key.secretKey, { count: 3, startAt: Date.now() - 2_000 });
    const res = await signedPost(app, `/v1/hosts/${host.hostId}/reports`, {
      containers: [{ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' }],
      receipts,
    }, host);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 3, rejected: [], tips: [{ assignmentId: a.assignmentId, seq: 2, hash: receipts[2]!.hash }] });
    const row = await fresh.db.selectFrom('assignments').selectAll().where('id', '=', a.assignmentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ reported_state: 'running', tip_seq: 2 });
    expect(row.running_at).not.toBeNull();
    expect((await hostRow(host.hostId))?.last_heartbeat_at?.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });

  test('a report signed by another key, or for another host → 401 and nothing recorded', async () => {
    const { host, leaseId } = await hostWithLease();
    const a = await openOn(host, leaseId);
    const neighbour = newHost();
    await registerHost(app, tier3.auth, neighbour, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
    const body = { containers: [{ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' }], receipts: [] };
    expectProblem(await signedPost(app, `/v1/hosts/${host.hostId}/reports`, body, { hostId: host.hostId, key: generateHostKey() }), 401, /does not verify/);
    expectProblem(await signedPost(app, `/v1/hosts/${host.hostId}/reports`, body, neighbour), 401, /does not match/);
    const ghost = newHost();
    expectProblem(await signedPost(app, `/v1/hosts/${ghost.hostId}/reports`, body, ghost), 404, /not registered/);
    expect((await fresh.db.selectFrom('assignments').select('reported_state').where('id', '=', a.assignmentId).executeTakeFirstOrThrow()).reported_state).toBeNull();
  });

  const receiptLike = () => signChain({ assignmentId: 'a1', leaseId: 'l1', hostId: 'h1', gpuId: 'g1', epoch: 0 }, generateHostKey().secretKey, { count: 2, startAt: Date.now() })
    .map((r) => JSON.parse(JSON.stringify(r)) as Record<string, Record<string, unknown>>);
  test.each([
    ['an unknown container state', () => ({ containers: [{ assignmentId: 'a', epoch: 0, state: 'dancing' }], receipts: [] }), /containers\[0\]\.state/],
    ['a negative epoch', () => ({ containers: [{ assignmentId: 'a', epoch: -1, state: 'running' }], receipts: [] }), /containers\[0\]\.epoch/],
    ['a receipt with a negative seq', () => {
      const receipts = receiptLike();
      receipts[1]!.body!.seq = -1;
      return { containers: [], receipts };
    }, /receipts\[1\]\.body\.seq/],
    ['a receipt with a short signature', () => {
      const receipts = receiptLike();
      receipts[0]!.signature = 'abcd' as unknown as Record<string, unknown>;
      return { containers: [], receipts };
    }, /receipts\[0\]\.signature/],
    ['the same receipt twice', () => {
      const [first] = receiptLike();
      return { containers: [], receipts: [first, first] };
    }, /receipts\[1\]\.body\.seq: duplicate receipt/],
    ['an unknown field', () => ({ containers: [], receipts: [], at: Date.now() }), /at: unknown field/],
    ['no receipts field', () => ({ containers: [] }), /receipts: /],
  ])('%s → 400 naming the field, nothing recorded', async (_name, body, detail) => {
    const { host } = await hostWithLease();
    await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(0) }).where('id', '=', host.hostId).execute();
    expectProblem(await signedPost(app, `/v1/hosts/${host.hostId}/reports`, body(), host), 400, detail);
    expect((await hostRow(host.hostId))?.last_heartbeat_at?.getTime()).toBe(0);
  });

  test('a host reporting far more often than its proof interval is answered 429', async () => {
    const { host } = await hostWithLease();
    const path = `/v1/hosts/${host.hostId}/reports`;
    const statuses: number[] = [];
    let limited: request.Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await signedPost(app, path, { containers: [], receipts: [] }, host);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    // A burst is allowed, then the host is slowed down.
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
    expect(limited).toBeDefined();
    expectProblem(limited!, 429, /reports too often/);
    expect(limited!.headers['retry-after']).toBe('1');
    // Another host is not slowed down by it.
    const { host: other } = await hostWithLease();
    expect((await signedPost(app, `/v1/hosts/${other.hostId}/reports`, { containers: [], receipts: [] }, other)).status).toBe(200);
  });

  test('past its in-flight bound the API answers 503 with Retry-After at once, records nothing, and takes the report sent again', async () => {
    const bounded = buildApp(fresh.db, noWorkflowCalls, { hostReportsInFlight: 1 });
    const { host: slow } = await hostWithLease();
    const { host: refused, leaseId } = await hostWithLease();
    const a = await openOn(refused, leaseId);
    await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(0) }).where('id', '=', refused.hostId).execute();
    const report = () => ({ containers: [{ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' }], receipts: signChain(a, refused.key.secretKey, { count: 1, startAt: Date.now() - 1_000 }) });

    // The first report holds the one slot: its heartbeat waits on a lock of its host's row.
    let unlock!: () => void;
    const locked = new Promise<void>((resolve) => (unlock = resolve));
    const holding = fresh.db.transaction().execute(async (trx) => {
      await sql`select 1 from hosts where id = ${slow.hostId} for update`.execute(trx);
      await locked;
    });
    const first = signedPost(bounded, `/v1/hosts/${slow.hostId}/reports`, { containers: [], receipts: [] }, slow).then((res) => res);
    await waitForLockWaiter();

    const shed = await signedPost(bounded, `/v1/hosts/${refused.hostId}/reports`, report(), refused);
    expectProblem(shed, 503, /working on 1 host reports already; nothing was recorded, report again after 1 s/);
    expect(shed.headers['retry-after']).toBe('1');
    expect((await hostRow(refused.hostId))?.last_heartbeat_at?.getTime()).toBe(0);
    expect(await fresh.db.selectFrom('proof_receipts').select('seq').where('assignment_id', '=', a.assignmentId).execute()).toEqual([]);
    expect((await fresh.db.selectFrom('assignments').select('reported_state').where('id', '=', a.assignmentId).executeTakeFirstOrThrow()).reported_state).toBeNull();

    unlock();
    await holding;
    expect((await first).status).toBe(200);
    // The slot is free again: the refused host's report is taken, receipts and all.
    const again = await signedPost(bounded, `/v1/hosts/${refused.hostId}/reports`, report(), refused);
    expect(again.status).toBe(200);
    expect(again.body.accepted).toBe(1);
    expect((await hostRow(refused.hostId))?.last_heartbeat_at?.getTime()).toBeGreaterThan(Date.now() - 10_000);
    const metrics = (await request(bounded).get('/metrics')).text;
    expect(metrics).toMatch(/^lease_engine_host_reports_shed_total 1$/m);
    expect(metrics).toMatch(/^lease_engine_host_reports_in_flight 0$/m);
  });

  test('a sender trickling a report\'s body in holds no slot: the bounded API takes the next host\'s report meanwhile', async () => {
    const bounded = buildApp(fresh.db, noWorkflowCalls, { hostReportsInFlight: 1 });
    const server = bounded.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const slow = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    try {
      await new Promise((resolve) => slow.once('connect', resolve));
      slow.write('POST /v1/hosts/anyone/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"receipts":[');
      await sleep(300);
      const { host } = await hostWithLease();
      const res = await signedPost(bounded, `/v1/hosts/${host.hostId}/reports`, { containers: [], receipts: [] }, host);
      expect(res.status).toBe(200);
    } finally {
      slow.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Until some backend of this test's database waits on a row lock. */
async function waitForLockWaiter(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(fresh.db);
    if ((rows[0]?.n ?? 0) > 0) return;
    await sleep(25);
  }
  throw new Error('no report waited on the lock');
}

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
