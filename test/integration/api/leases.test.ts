/**
 * The lease API contract: creation (and its idempotency), the read model, extend and cancel. The
 * workflow side is a RecordingOrchestrator that records calls and answers as told; the real Temporal
 * path is covered end to end elsewhere.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { LeaseOrchestrator } from '../../../api/lease-orchestrator';
import { LeaseNotRunningError, LeaseUpdateRejectedError } from '../../../api/lease-orchestrator';
import type { LeaseStatus } from '../../../domain/lease';
import type { CancelLeaseResult, ExtendLeaseResult, LeaseWorkflowInput } from '../../../workflows/messages';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, registerHost, timings } from './fixtures';

class RecordingOrchestrator implements LeaseOrchestrator {
  started: LeaseWorkflowInput[] = [];
  extended: { leaseId: string; seconds: number }[] = [];
  cancelled: string[] = [];
  /** What the next calls do; an Error is thrown. */
  startOutcome: Error | undefined;
  extendOutcome: ExtendLeaseResult | Error = { durationSeconds: 0, endsAt: null };
  cancelOutcome: CancelLeaseResult | Error = { status: 'closing' };

  async start(input: LeaseWorkflowInput): Promise<void> {
    this.started.push(input);
    if (this.startOutcome) throw this.startOutcome;
  }
  async extend(leaseId: string, seconds: number): Promise<ExtendLeaseResult> {
    this.extended.push({ leaseId, seconds });
    if (this.extendOutcome instanceof Error) throw this.extendOutcome;
    return this.extendOutcome;
  }
  async cancel(leaseId: string): Promise<CancelLeaseResult> {
    this.cancelled.push(leaseId);
    if (this.cancelOutcome instanceof Error) throw this.cancelOutcome;
    return this.cancelOutcome;
  }
}

let fresh: FreshDatabase;
let app: Express;
let orchestrator: RecordingOrchestrator;
let alice: { id: string; auth: string };
let bob: { id: string; auth: string };
let host: ReturnType<typeof newHost>;
let providerId: string;

const body = { gpuModel: 'A100', gpuCount: 2, minTier: 2, maxPricePerGpuHour: '1.25', durationSeconds: 600, image: 'busybox', command: ['sleep', '600'], env: { A: '1', B: '2' } };

beforeAll(async () => {
  fresh = await freshDatabase();
  const provider = await newProvider(fresh.db, 1);
  providerId = provider.id;
  alice = await newCustomer(fresh.db);
  bob = await newCustomer(fresh.db);
  host = newHost();
  app = buildApp(fresh.db, new RecordingOrchestrator());
  await registerHost(app, provider.auth, host, [{ model: 'A100', pricePerGpuHour: '1' }, { model: 'A100', pricePerGpuHour: '1' }]);
});

beforeEach(() => {
  orchestrator = new RecordingOrchestrator();
  app = buildApp(fresh.db, orchestrator);
});

afterAll(() => fresh.drop());

const create = (auth: string, payload: object = body, key?: string) =>
  request(app).post('/v1/leases').set({ authorization: auth, ...(key ? { 'idempotency-key': key } : {}) }).send(payload);

async function leaseRows(customerId: string) {
  return fresh.db.selectFrom('leases').selectAll().where('customer_id', '=', customerId).execute();
}

async function setStatus(leaseId: string, status: LeaseStatus) {
  await fresh.db.updateTable('leases').set({ status }).where('id', '=', leaseId).execute();
}

describe('POST /v1/leases', () => {
  test('creates the lease row and starts its workflow with the spec in base units and the configured timings', async () => {
    const res = await create(alice.auth);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v1/leases/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'reserving', endReason: null, gpuModel: 'A100', gpuCount: 2, minTier: 2,
      maxPricePerGpuHour: '1.25', durationSeconds: 600, image: 'busybox', createdAt: expect.any(String),
      startedAt: null, endsAt: null, endedAt: null, assignments: [], failoverCount: 0, escrow: null,
    });
    expect(orchestrator.started).toEqual([{
      leaseId: res.body.id, customerId: alice.id, timings,
      spec: { gpuModel: 'A100', gpuCount: 2, minTier: 2, maxPricePerGpuHour: '1250000', durationSeconds: 600, image: 'busybox', command: ['sleep', '600'], env: { A: '1', B: '2' } },
    }]);
    const [row] = (await leaseRows(alice.id)).filter((r) => r.id === res.body.id);
    expect(row).toMatchObject({ status: 'reserving', max_price_per_gpu_hour: '1250000', idempotency_key: null, request_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test('the same Idempotency-Key and body returns the same lease, whatever the key order; the workflow starts once', async () => {
    const first = await create(alice.auth, body, 'order-1');
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await create(alice.auth, reordered, 'order-1');
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(orchestrator.started).toHaveLength(1);
    expect((await leaseRows(alice.id)).filter((r) => r.idempotency_key === 'order-1')).toHaveLength(1);
  });

  test('the same Idempotency-Key with another body → 409, nothing created', async () => {
    const first = await create(alice.auth, body, 'order-2');
    const before = (await leaseRows(alice.id)).length;
    const res = await create(alice.auth, { ...body, gpuCount: 1 }, 'order-2');
    expectProblem(res, 409, new RegExp(`order-2.*different request.*${first.body.id}`));
    expect(await leaseRows(alice.id)).toHaveLength(before);
    expect(orchestrator.started).toHaveLength(1);
  });

  test('Idempotency-Keys belong to their customer', async () => {
    const a = await create(alice.auth, body, 'shared-key');
    const b = await create(bob.auth, body, 'shared-key');
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.id).not.toBe(a.body.id);
  });

  test('a workflow that cannot be started → 503 and the lease row is gone; a retry with the key then succeeds', async () => {
    orchestrator.startOutcome = new Error('Temporal is down');
    const before = (await leaseRows(alice.id)).length;
    const res = await create(alice.auth, body, 'retry-me');
    expectProblem(res, 503, /nothing was created/);
    expect(await leaseRows(alice.id)).toHaveLength(before);

    orchestrator.startOutcome = undefined;
    const retry = await create(alice.auth, body, 'retry-me');
    expect(retry.status).toBe(201);
    const [failed, succeeded] = orchestrator.started.map((input) => input.leaseId);
    expect(succeeded).toBe(retry.body.id);
    expect((await leaseRows(alice.id)).map((row) => row.id)).not.toContain(failed);
  });
});

describe('reading leases', () => {
  test('GET /v1/leases/:id shows the workflow-written status, times and assignments', async () => {
    const { body: lease } = await create(alice.auth);
    const startedAt = new Date('2026-11-25T10:00:00.000Z');
    await fresh.db.updateTable('leases').set({ status: 'running', started_at: startedAt, ends_at: new Date('2026-11-25T10:10:00.000Z'), failover_count: 1 }).where('id', '=', lease.id).execute();
    const assignment = { lease_id: lease.id, host_id: host.hostId, provider_id: providerId, tier: 1, price_per_gpu_hour: '1000000', started_at: startedAt };
    await fresh.db.insertInto('assignments').values([
      { ...assignment, id: `${lease.id}-a0`, gpu_id: `${host.hostId}-gpu0`, rank: 0, epoch: 0, ended_at: new Date('2026-11-25T10:01:00.000Z'), end_reason: 'host_lost', verified_seconds: 55 },
      { ...assignment, id: `${lease.id}-a1`, gpu_id: `${host.hostId}-gpu1`, rank: 0, epoch: 1, started_at: new Date('2026-11-25T10:01:02.000Z') },
    ]).execute();

    const res = await request(app).get(`/v1/leases/${lease.id}`).set('authorization', alice.auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'running', startedAt: '2026-11-25T10:00:00.000Z', endsAt: '2026-11-25T10:10:00.000Z', endedAt: null, failoverCount: 1 });
    expect(res.body.assignments).toEqual([
      { assignmentId: `${lease.id}-a0`, gpuId: `${host.hostId}-gpu0`, hostId: host.hostId, providerId, tier: 1, rank: 0, pricePerGpuHour: '1', epoch: 0, startedAt: '2026-11-25T10:00:00.000Z', endedAt: '2026-11-25T10:01:00.000Z', endReason: 'host_lost', verifiedSeconds: 55 },
      { assignmentId: `${lease.id}-a1`, gpuId: `${host.hostId}-gpu1`, hostId: host.hostId, providerId, tier: 1, rank: 0, pricePerGpuHour: '1', epoch: 1, startedAt: '2026-11-25T10:01:02.000Z', endedAt: null, endReason: null, verifiedSeconds: 0 },
    ]);
    await fresh.db.deleteFrom('assignments').where('lease_id', '=', lease.id).execute();
  });

  test("another customer's lease and a malformed id are both 404", async () => {
    const { body: lease } = await create(alice.auth);
    expectProblem(await request(app).get(`/v1/leases/${lease.id}`).set('authorization', bob.auth), 404, new RegExp(lease.id));
    expectProblem(await request(app).get('/v1/leases/not-a-uuid').set('authorization', alice.auth), 404, /not-a-uuid/);
    expectProblem(await request(app).post(`/v1/leases/${lease.id}/cancel`).set('authorization', bob.auth), 404, /no lease/);
    expect(orchestrator.cancelled).toEqual([]);
  });

  test("GET /v1/leases lists only the caller's leases, newest first", async () => {
    const carol = await newCustomer(fresh.db);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(carol.auth)).body.id);
    const res = await request(app).get('/v1/leases').set('authorization', carol.auth);
    expect(res.status).toBe(200);
    expect(res.body.map((l: { id: string }) => l.id)).toEqual([...ids].reverse());
  });
});

describe('extend and cancel', () => {
  test('extend goes to the workflow and the answer shows the new duration and end', async () => {
    const { body: lease } = await create(alice.auth);
    orchestrator.extendOutcome = { durationSeconds: 900, endsAt: Date.parse('2026-11-25T12:15:00.000Z') };
    const res = await request(app).post(`/v1/leases/${lease.id}/extend`).set('authorization', alice.auth).send({ seconds: 300 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: lease.id, durationSeconds: 900, endsAt: '2026-11-25T12:15:00.000Z' });
    expect(orchestrator.extended).toEqual([{ leaseId: lease.id, seconds: 300 }]);
  });

  test('a bad extension is refused before it reaches the workflow', async () => {
    const { body: lease } = await create(alice.auth);
    const res = await request(app).post(`/v1/leases/${lease.id}/extend`).set('authorization', alice.auth).send({ seconds: 0, more: 1 });
    expectProblem(res, 400, /seconds: .*>=1.*more: unknown field/);
    expect(orchestrator.extended).toEqual([]);
  });

  test.each([
    ['a state conflict', new LeaseUpdateRejectedError('lease is closing', 'conflict'), 409],
    ['an invalid request', new LeaseUpdateRejectedError('extension beyond the escrow horizon', 'invalid'), 422],
    ['a closed workflow', new LeaseNotRunningError('lease has no running workflow'), 409],
  ])('the workflow refusing (%s)', async (_name, error, status) => {
    const { body: lease } = await create(alice.auth);
    orchestrator.extendOutcome = error;
    const res = await request(app).post(`/v1/leases/${lease.id}/extend`).set('authorization', alice.auth).send({ seconds: 60 });
    expectProblem(res, status, new RegExp(error.message));
  });

  test('an open-ended lease has no end to extend → 409 saying so, without asking the workflow', async () => {
    const { durationSeconds: _fixed, ...openEnded } = body;
    const { body: lease, status } = await create(alice.auth, openEnded);
    expect(status).toBe(201);
    expect(lease.durationSeconds).toBeNull();
    const res = await request(app).post(`/v1/leases/${lease.id}/extend`).set('authorization', alice.auth).send({ seconds: 60 });
    expectProblem(res, 409, /no fixed duration/);
    expect(orchestrator.extended).toEqual([]);
  });

  test('extend or cancel of a finished lease → 409 naming its status, without asking the workflow', async () => {
    const { body: lease } = await create(alice.auth);
    await setStatus(lease.id, 'completed');
    const extend = await request(app).post(`/v1/leases/${lease.id}/extend`).set('authorization', alice.auth).send({ seconds: 60 });
    expectProblem(extend, 409, /is completed/);
    await setStatus(lease.id, 'cancelled');
    const cancel = await request(app).post(`/v1/leases/${lease.id}/cancel`).set('authorization', alice.auth);
    expectProblem(cancel, 409, /is cancelled/);
    expect([orchestrator.extended, orchestrator.cancelled]).toEqual([[], []]);
  });

  test('cancel answers 202 while the workflow closes the lease, 200 once it is cancelled', async () => {
    const { body: lease } = await create(alice.auth);
    orchestrator.cancelOutcome = { status: 'closing' };
    const closing = await request(app).post(`/v1/leases/${lease.id}/cancel`).set('authorization', alice.auth);
    expect([closing.status, closing.body.status]).toEqual([202, 'closing']);
    orchestrator.cancelOutcome = { status: 'cancelled' };
    const done = await request(app).post(`/v1/leases/${lease.id}/cancel`).set('authorization', alice.auth).send({});
    expect([done.status, done.body.status]).toEqual([200, 'cancelled']);
    expect(orchestrator.cancelled).toEqual([lease.id, lease.id]);
  });
});
