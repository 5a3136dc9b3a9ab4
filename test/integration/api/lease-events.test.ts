/**
 * GET /v1/leases/:id/events on a real PostgreSQL: events written once by the very writers the workflow's
 * activities and the host reports use (retried as Temporal would), merged with the ledger's escrow and
 * settlements, resumable from any id, as JSON and as server-sent events.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { createControlActivities } from '../../../activities/control';
import type { ControlActivities } from '../../../activities/contracts';
import type { ReservedGpu } from '../../../domain/lease';
import { recordContainerStates } from '../../../infra/db/repositories/host-reports.repo';
import { insertLease } from '../../../infra/db/repositories/leases.repo';
import { openingOf } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedGpus, seedHost, seedProvider } from '../../support/seed';
import { buildApp, expectProblem, newCustomer, noWorkflowCalls } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let activities: ControlActivities;
let alice: { id: string; auth: string };
let bob: { id: string; auth: string };
let providerId: string;
let hostId: string;
let gpu: ReservedGpu;

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls, { events: { tickMs: 20, heartbeatMs: 300 } });
  activities = createControlActivities({ db: fresh.db });
  alice = await newCustomer(fresh.db);
  bob = await newCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostId = await seedHost(fresh.db, { providerId });
});

afterAll(() => fresh.drop());

const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function newLease(customerId = alice.id): Promise<string> {
  const id = randomUUID();
  await insertLease(fresh.db, { id, customer_id: customerId, status: 'reserving', gpu_model: 'H100', gpu_count: 1, min_tier: 1,
    max_price_per_gpu_hour: 2_500_000n, duration_seconds: 600, image: 'busybox', request_hash: randomUUID() });
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  gpu = { gpuId: gpuId!, hostId, providerId, tier: 1, model: 'H100', pricePerGpuHour: '2000000' };
  return id;
}

async function openEscrow(leaseId: string): Promise<void> {
  await fresh.db.insertInto('escrows').values({ lease_id: leaseId, address: `Lease-${leaseId.slice(0, 8)}`, vault: 'Vault1111',
    customer_wallet: 'Wallet1111', mint: 'Mint1111', deposited: 416_667n, max_rate_per_second: 695n, duration_seconds: 600n,
    status: 'open', open_signature: `open-${leaseId}`, opened_at: new Date() }).execute();
}

async function confirmedSettlement(leaseId: string, period: number, kind: 'settle' | 'close' = 'settle'): Promise<void> {
  await fresh.db.insertInto('settlements').values({ lease_id: leaseId, period, kind, status: 'confirmed', signature: `sig-${leaseId}-${period}`,
    transaction: 'AA==', last_valid_block_height: 100, receipts_digest: 'ab'.repeat(32), gross: 10_000n, fee: 500n, burned: 100n,
    refunded: kind === 'close' ? 1_000n : 0n, confirmed_at: new Date() }).execute();
  await fresh.db.insertInto('settlement_payouts').values({ lease_id: leaseId, period: String(period), provider_id: providerId,
    token_account: 'Token1111', seconds: 18, gross: '10000', net: '9400', fee: '500', burn: '100' }).execute();
}

/** A lease from reserving to cancelled, every write done twice as a retried activity or a repeated report would. */
async function runLease(leaseId: string): Promise<void> {
  const twice = async (write: () => Promise<unknown>) => {
    await write();
    await write();
    await pause();
  };
  const assignmentId = `asg-${randomUUID()}`;
  await pause();
  await openEscrow(leaseId);
  await pause();
  await twice(() => activities.recordLeaseStatus({ leaseId, status: 'dispatching' }));
  await twice(() => activities.openAssignments(openingOf(leaseId, gpu, { assignmentId, rank: 0, epoch: 1 })));
  await twice(() => recordContainerStates(fresh.db, hostId, [{ assignmentId, epoch: 1, state: 'running' }]));
  await twice(() => activities.recordLeaseStatus({ leaseId, status: 'running', startedAt: Date.now() }));
  await confirmedSettlement(leaseId, 1);
  await pause();
  await twice(() => activities.recordLeaseStatus({ leaseId, status: 'closing' }));
  await twice(() => activities.closeAssignment({ assignmentId, endReason: 'lease_cancelled', endedAt: Date.now() }));
  await confirmedSettlement(leaseId, 2, 'close');
  await pause();
  await twice(() => activities.recordLeaseStatus({ leaseId, status: 'cancelled', endReason: 'cancelled by customer', endedAt: Date.now() }));
}

const EXPECTED = [
  ['status', { status: 'reserving' }],
  ['escrow', { address: expect.any(String), deposited: '0.416667' }],
  ['status', { status: 'dispatching' }],
  ['placed', { assignmentId: expect.any(String), rank: 0, epoch: 1, hostId: expect.any(String), providerId: expect.any(String), tier: 1 }],
  ['running', { assignmentId: expect.any(String), rank: 0, epoch: 1 }],
  ['status', { status: 'running' }],
  ['settlement', expect.objectContaining({ period: 1, kind: 'settle', signature: expect.any(String), gross: '0.01' })],
  ['status', { status: 'closing' }],
  ['ended', { assignmentId: expect.any(String), rank: 0, epoch: 1, reason: 'lease_cancelled' }],
  ['settlement', expect.objectContaining({ period: 2, kind: 'close', refunded: '0.001' })],
  ['status', { status: 'cancelled', endReason: 'cancelled by customer' }],
];

const events = (leaseId: string, auth = alice.auth, headers: Record<string, string> = {}, query = '') =>
  request(app).get(`/v1/leases/${leaseId}/events${query}`).set({ authorization: auth, ...headers });

describe('stored events (JSON)', () => {
  let leaseId: string;
  beforeAll(async () => {
    leaseId = await newLease();
    await runLease(leaseId);
  });

  test('each change is written once whatever the retries, in order, with the ledger merged in', async () => {
    const res = await events(leaseId);
    expect(res.status).toBe(200);
    expect(res.body.map((e: { kind: string; data: unknown }) => [e.kind, e.data])).toEqual(EXPECTED);
    const stored = await fresh.db.selectFrom('lease_events').select(['seq', 'kind']).where('lease_id', '=', leaseId).orderBy('seq').execute();
    expect(stored.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Ids are positions: each one moves exactly one source forward.
    expect(res.body.map((e: { id: string }) => e.id)).toEqual(
      ['1.0.0', '1.0.1', '2.0.1', '3.0.1', '4.0.1', '5.0.1', '5.1.1', '6.1.1', '7.1.1', '7.2.1', '8.2.1'],
    );
    for (const e of res.body) expect(Date.parse(e.at)).not.toBeNaN();
  });

  test('resumes after any id, from Last-Event-ID or ?after, and refuses what is not an id', async () => {
    const all = (await events(leaseId)).body as { id: string }[];
    for (const [index, event] of all.entries()) {
      expect((await events(leaseId, alice.auth, { 'last-event-id': event.id })).body).toEqual(all.slice(index + 1));
    }
    expect((await events(leaseId, alice.auth, {}, `?after=${all[3]!.id}`)).body).toEqual(all.slice(4));
    expectProblem(await events(leaseId, alice.auth, { 'last-event-id': 'nonsense' }), 400, /last-event-id/);
    expectProblem(await events(leaseId, alice.auth, {}, '?after=1'), 400, /after/);
    // A seq past PostgreSQL's integer made the query fail with a 500 (found by schemathesis): refused up front.
    expectProblem(await events(leaseId, alice.auth, {}, '?after=2798749469.0.0'), 400, /after/);
    expectProblem(await events(leaseId, alice.auth, { 'last-event-id': '9999999999.0.0' }), 400, /last-event-id/);
  });

  test("another customer's lease, or no lease at all, is a 404", async () => {
    expectProblem(await events(leaseId, bob.auth), 404, /no lease/);
    expectProblem(await events(randomUUID()), 404, /no lease/);
    expect((await request(app).get(`/v1/leases/${leaseId}/events`)).status).toBe(401);
  });

  test("a finished lease's stream sends every event as SSE frames, then `end`, and closes", async () => {
    const res = await events(leaseId, alice.auth, { accept: 'text/event-stream' }).buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString()));
      r.on('end', () => done(null, text));
    });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const frames = (res.body as string).split('\n\n').filter(Boolean);
    const json = (await events(leaseId)).body as { id: string; kind: string }[];
    expect(frames).toHaveLength(json.length + 1);
    for (const [index, event] of json.entries()) {
      expect(frames[index]).toBe(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}`);
    }
    expect(frames[json.length]).toBe('event: end\ndata: {"status":"cancelled"}');
  });
});

/** Reads server-sent events from a real socket as they come. */
function follow(url: string, auth: string, lastEventId?: string) {
  const frames: string[] = [];
  const controller = new AbortController();
  let ended = false;
  const done = (async () => {
    const res = await fetch(url, {
      headers: { authorization: auth, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        frames.push(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
    ended = true;
  })().catch(() => undefined);
  const until = async (what: string, probe: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames)}`);
      await pause(20);
    }
  };
  return { frames, done, until, ended: () => ended, close: () => controller.abort() };
}

describe('live events (SSE)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const kinds = (frames: string[]) => frames.filter((f) => !f.startsWith(':')).map((f) => /^event: (.*)$/m.exec(f)?.[1]);

  test('follows a lease live, with heartbeats, resumes from Last-Event-ID, and ends after its terminal status', async () => {
    const leaseId = await newLease();
    const url = `${base}/v1/leases/${leaseId}/events`;
    const stream = follow(url, alice.auth);
    await stream.until('the stored reserving event', () => kinds(stream.frames).length === 1);
    await stream.until('a heartbeat', () => stream.frames.some((f) => f === ': keep-alive'));

    await activities.recordLeaseStatus({ leaseId, status: 'dispatching' });
    await stream.until('the live dispatching event', () => kinds(stream.frames).length === 2);
    const dispatching = JSON.parse(/^data: (.*)$/m.exec(stream.frames.filter((f) => !f.startsWith(':'))[1]!)![1]!);
    expect(dispatching).toMatchObject({ kind: 'status', data: { status: 'dispatching' } });
    stream.close();
    await stream.done;

    // Meanwhile the lease went on; a new connection from the last id gets exactly the rest, then the end.
    await runLease(leaseId);
    const resumed = follow(url, alice.auth, dispatching.id);
    await resumed.done;
    expect(resumed.ended()).toBe(true);
    const expected = EXPECTED.slice(1).filter(([, data]) => !(data && typeof data === 'object' && 'status' in data && data.status === 'dispatching'));
    expect(kinds(resumed.frames)).toEqual([...expected.map(([kind]) => kind), 'end']);
  });

  test('a stream ends when the API closes its watch', async () => {
    const leaseId = await newLease();
    const stream = follow(`${base}/v1/leases/${leaseId}/events`, alice.auth);
    await stream.until('the first event', () => kinds(stream.frames).length === 1);
    (app.locals.leaseEventsWatch as { close(): void }).close();
    await stream.done;
    expect(stream.ended()).toBe(true);
  });
});
