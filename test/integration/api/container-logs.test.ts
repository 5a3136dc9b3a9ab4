/**
 * Container logs through the API on a real PostgreSQL (docs/host-protocol.md, "Container logs"): hosts
 * ship lines in their signed reports, only for their own assignments; customers read them in seq order
 * across ranks and failovers, as JSON pages or live server-sent events. The bounds (rate with its
 * marker, retention per assignment, grace after an assignment ended, deletion after the lease ended)
 * are shrunk here so that they show in seconds.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import { SseParser } from '../../../api/cli/sse';
import type { LogPolicy } from '../../../domain/container-logs';
import { DEFAULT_LOG_POLICY, MAX_LOG_LINE_BYTES } from '../../../domain/container-logs';
import { endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { startFleetMonitor } from '../../../workers/control/fleet-monitor';
import type { OpenOptions, TestAssignment } from '../../support/assignments';
import { openTestAssignment } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import type { TestHost } from './fixtures';
import { buildApp, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost, signedPost } from './fixtures';

let fresh: FreshDatabase;
let provider: { id: string; auth: string };
let customer: { id: string; auth: string };

beforeAll(async () => {
  fresh = await freshDatabase();
  provider = await newProvider(fresh.db, 1);
  customer = await newCustomer(fresh.db);
});
afterAll(() => fresh.drop());

/** A lease row as the API creates it (its routes take UUIDs only); no workflow behind it. */
async function seedLease(db: FreshDatabase['db'], customerId: string, { gpuCount = 1 } = {}): Promise<string> {
  const id = randomUUID();
  await db.insertInto('leases').values({
    id, customer_id: customerId, status: 'running', gpu_model: 'H100', gpu_count: gpuCount, min_tier: 1,
    max_price_per_gpu_hour: 3_000_000n, duration_seconds: 3600, image: 'lease-engine/busybox:local', request_hash: randomUUID(),
  }).execute();
  return id;
}

const appWith = (policy: Partial<LogPolicy> = {}): Express =>
  buildApp(fresh.db, noWorkflowCalls, { logPolicy: { ...DEFAULT_LOG_POLICY, ...policy }, events: { tickMs: 50, heartbeatMs: 500 } });
const defaultApp = () => appWith();

async function hostOn(app: Express): Promise<TestHost> {
  const host = newHost();
  await registerHost(app, provider.auth, host, [{ model: 'H100', pricePerGpuHour: '2' }, { model: 'H100', pricePerGpuHour: '2' }]);
  return host;
}
const open = (host: TestHost, leaseId: string, gpu: number, opts: OpenOptions = {}): Promise<TestAssignment> =>
  openTestAssignment(fresh.db, leaseId, { gpuId: `${host.hostId}-gpu${gpu}`, hostId: host.hostId, providerId: provider.id, tier: 1, model: 'H100', pricePerGpuHour: '2000000' }, opts);

const at = (offsetMs = 0) => Date.now() + offsetMs;
const out = (text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({ stream, at: at(), text });
const report = (app: Express, host: TestHost, logs: unknown) =>
  signedPost(app, `/v1/hosts/${host.hostId}/reports`, { containers: [], receipts: [], logs }, host);
const batch = (a: TestAssignment, lines: unknown[], extra: object = {}) => ({ assignmentId: a.assignmentId, epoch: a.epoch, lines, ...extra });
const logsOf = (app: Express, leaseId: string, query = '', auth = customer.auth) =>
  request(app).get(`/v1/leases/${leaseId}/logs${query}`).set('authorization', auth);
const storedCount = async (leaseId: string) =>
  Number((await fresh.db.selectFrom('container_logs').select((eb) => eb.fn.countAll<string>().as('n')).where('lease_id', '=', leaseId).executeTakeFirstOrThrow()).n);

test('lines of every rank and failover come back in order, each with its rank and epoch; since and rank filter them', async () => {
  const app = defaultApp();
  const host = await hostOn(app);
  const leaseId = await seedLease(fresh.db, customer.id, { gpuCount: 2 });
  const rank0 = await open(host, leaseId, 0, { rank: 0, epoch: 0 });
  const rank1 = await open(host, leaseId, 1, { rank: 1, epoch: 0 });
  expect((await report(app, host, [batch(rank0, [out('r0 one'), out('r0 err', 'stderr')]), batch(rank1, [out('r1 one')])])).body.logs)
    .toEqual({ stored: 3, dropped: 0, ignored: [] });
  // Rank 0 fails over: the same rank on a new assignment at epoch 1.
  await endAssignment(fresh.db, { assignmentId: rank0.assignmentId, endReason: 'host_lost' });
  const replacement = await open(host, leaseId, 0, { rank: 0, epoch: 1 });
  expect((await report(app, host, [batch(replacement, [out('r0 after failover')])])).status).toBe(200);

  const all = await logsOf(app, leaseId);
  expect(all.status).toBe(200);
  expect(all.body).toEqual({
    lines: [
      { seq: 1, rank: 0, epoch: 0, stream: 'stdout', at: expect.any(String), text: 'r0 one' },
      { seq: 2, rank: 0, epoch: 0, stream: 'stderr', at: expect.any(String), text: 'r0 err' },
      { seq: 3, rank: 1, epoch: 0, stream: 'stdout', at: expect.any(String), text: 'r1 one' },
      { seq: 4, rank: 0, epoch: 1, stream: 'stdout', at: expect.any(String), text: 'r0 after failover' },
    ],
    next: 4,
  });
  expect((await logsOf(app, leaseId, '?since=2')).body.lines.map((l: { seq: number }) => l.seq)).toEqual([3, 4]);
  expect((await logsOf(app, leaseId, '?rank=0&since=1')).body).toEqual({ lines: [expect.objectContaining({ seq: 2 }), expect.objectContaining({ seq: 4 })], next: 4 });
  expect((await logsOf(app, leaseId, '?since=4')).body).toEqual({ lines: [], next: 4 });
});

test('only the lease\'s customer reads its logs; bad queries are named', async () => {
  const app = defaultApp();
  const leaseId = await seedLease(fresh.db, customer.id);
  const stranger = await newCustomer(fresh.db);
  expect((await logsOf(app, leaseId, '', stranger.auth)).status).toBe(404);
  expect((await logsOf(app, leaseId, '', 'Bearer nope')).status).toBe(401);
  for (const [query, field] of [['?rank=-1', 'query.rank'], ['?since=x', 'query.since'], ['?follow=yes', 'query.follow'], ['?tail=5', 'query.tail']]) {
    const res = await logsOf(app, leaseId, query);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
});

describe('a host ships logs only for its own assignments, within the bounds; anything else is refused whole', () => {
  test('another host\'s assignment, a wrong epoch, a line too long, too many lines: 4xx naming the field, nothing stored', async () => {
    const app = defaultApp();
    const owner = await hostOn(app);
    const intruder = await hostOn(app);
    const leaseId = await seedLease(fresh.db, customer.id);
    const victim = await open(owner, leaseId, 0);
    const own = await open(intruder, await seedLease(fresh.db, customer.id), 0);
    const heartbeat = async () => (await fresh.db.selectFrom('hosts').select('last_heartbeat_at').where('id', '=', intruder.hostId).executeTakeFirstOrThrow()).last_heartbeat_at;
    const before = await heartbeat();

    const cases: [unknown, number, string][] = [
      [[batch(own, [out('fine')]), batch(victim, [out('forged')])], 422, 'logs[1].assignmentId'],
      [[batch({ ...own, epoch: 7 }, [out('stale')])], 422, 'logs[0].epoch'],
      [[batch({ ...own, assignmentId: 'no-such-assignment' }, [out('x')])], 422, 'logs[0].assignmentId'],
      [[batch(own, [out('x'.repeat(MAX_LOG_LINE_BYTES + 1))])], 400, 'logs[0].lines[0].text'],
      [[batch(own, [out('€'.repeat(MAX_LOG_LINE_BYTES / 3 + 1))])], 400, 'logs[0].lines[0].text'],
      [[batch(own, Array.from({ length: 1001 }, () => out('x')))], 400, 'logs[0].lines'],
      [[batch(own, Array.from({ length: 600 }, () => out('x'))), batch({ ...own, assignmentId: 'b' }, Array.from({ length: 600 }, () => out('y')))], 400, 'logs'],
      [[batch(own, [{ stream: 'stdin', at: at(), text: 'x' }])], 400, 'logs[0].lines[0].stream'],
      [[batch(own, [out('x')], { dropped: -1 })], 400, 'logs[0].dropped'],
      [[batch(own, [out('nul \u0000 inside')])], 400, 'logs[0].lines[0].text'],
    ];
    for (const [logs, status, field] of cases) {
      const res = await report(app, intruder, logs);
      expect({ status: res.status, type: res.headers['content-type'] }).toEqual({ status, type: expect.stringContaining('application/problem+json') });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await storedCount(leaseId)).toBe(0);
    expect(await storedCount(own.leaseId)).toBe(0);
    // Refused whole: not even the report's sign of life was recorded.
    expect(await heartbeat()).toEqual(before);
    // The victim's assignment is untouched and its own host still ships.
    expect((await report(app, owner, [batch(victim, [out('real')])])).body.logs.stored).toBe(1);
  });

  test('over the rate bound lines are dropped and the gap marked where lines resume', async () => {
    const app = appWith({ bytesPerWindow: 2_000, windowMs: 1_000 });
    const host = await hostOn(app);
    const a = await open(host, await seedLease(fresh.db, customer.id), 0);
    const flood = Array.from({ length: 100 }, (_, i) => out(`${String(i).padStart(3, '0')} ${'x'.repeat(96)}`));
    const first = await report(app, host, [batch(a, flood)]);
    // 100 bytes + 64 of row overhead each: 12 fit in 2,000.
    expect(first.body.logs).toEqual({ stored: 12, dropped: 88, ignored: [] });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await report(app, host, [batch(a, [out('after the flood')], { dropped: 5 })])).body.logs.stored).toBe(2);
    const texts = (await logsOf(app, a.leaseId)).body.lines.map((l: { text: string }) => l.text);
    expect(texts.slice(10)).toEqual([flood[10]!.text, flood[11]!.text, '[lease-engine: 93 lines dropped]', 'after the flood']);
  });

  test('each assignment keeps its newest lines within the retention bound', async () => {
    const app = appWith({ keepLines: 20, keepBytes: 1_000_000 });
    const host = await hostOn(app);
    const leaseId = await seedLease(fresh.db, customer.id, { gpuCount: 2 });
    const busy = await open(host, leaseId, 0, { rank: 0 });
    const quiet = await open(host, leaseId, 1, { rank: 1 });
    await report(app, host, [batch(quiet, [out('quiet one')])]);
    for (let round = 0; round < 5; round += 1) {
      await report(app, host, [batch(busy, Array.from({ length: 10 }, (_, i) => out(`busy ${round * 10 + i}`)))]);
    }
    const lines = (await logsOf(app, leaseId)).body.lines as { rank: number; text: string }[];
    const busyLines = lines.filter((l) => l.rank === 0).map((l) => l.text);
    expect(busyLines.length).toBeGreaterThanOrEqual(18);
    expect(busyLines.length).toBeLessThanOrEqual(20);
    expect(busyLines.at(-1)).toBe('busy 49');
    expect(busyLines[0]).toBe(`busy ${50 - busyLines.length}`);
    expect(lines.filter((l) => l.rank === 1).map((l) => l.text)).toEqual(['quiet one']);
  });

  test('an ended assignment\'s last lines are taken for the grace, then ignored and said so', async () => {
    const app = appWith({ endedGraceMs: 60_000 });
    const strict = appWith({ endedGraceMs: 0 });
    const host = await hostOn(app);
    const a = await open(host, await seedLease(fresh.db, customer.id), 0);
    await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: 'lease_cancelled', endedAt: Date.now() - 1_000 });
    expect((await report(app, host, [batch(a, [out('stopping')])])).body.logs).toEqual({ stored: 1, dropped: 0, ignored: [] });
    const late = await report(strict, host, [batch(a, [out('too late')])]);
    expect(late.status).toBe(200);
    expect(late.body.logs).toEqual({ stored: 0, dropped: 0, ignored: [{ assignmentId: a.assignmentId, reason: 'the assignment has ended' }] });
    expect(await storedCount(a.leaseId)).toBe(1);
  });
});

test('follow=true streams lines live as server-sent events, resumes after Last-Event-ID, and ends after the lease', async () => {
  const app = appWith({ endedGraceMs: 300 });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const host = await hostOn(app);
    const a = await open(host, await seedLease(fresh.db, customer.id), 0);
    await report(app, host, [batch(a, [out('one'), out('two')])]);

    const events: { id?: string; event: string; data: string }[] = [];
    const reading = (async () => {
      const res = await fetch(`${url}/v1/leases/${a.leaseId}/logs?follow=true`, { headers: { authorization: customer.auth, 'last-event-id': '1' } });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) events.push(...parser.push(decoder.decode(chunk, { stream: true })));
    })();
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 100 && !pred(); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pred()).toBe(true);
    };
    await until(() => events.length === 1);
    await report(app, host, [batch(a, [out('three', 'stderr')])]);
    await until(() => events.length === 2);
    await fresh.db.updateTable('leases').set({ status: 'cancelled', ended_at: new Date() }).where('id', '=', a.leaseId).execute();
    await reading;
    expect(events.map((e) => [e.id, e.event])).toEqual([['2', 'log'], ['3', 'log'], [undefined, 'end']]);
    expect(JSON.parse(events[1]!.data)).toEqual({ seq: 3, rank: 0, epoch: 0, stream: 'stderr', at: expect.any(String), text: 'three' });
    expect(JSON.parse(events[2]!.data)).toEqual({ status: 'cancelled', next: 3 });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the fleet monitor deletes a lease\'s logs once it ended longer ago than the retention', async () => {
  const app = defaultApp();
  const host = await hostOn(app);
  const oldLease = await seedLease(fresh.db, customer.id);
  const recentLease = await seedLease(fresh.db, customer.id);
  for (const leaseId of [oldLease, recentLease]) {
    const a = await open(host, leaseId, leaseId === oldLease ? 0 : 1);
    await report(app, host, [batch(a, [out(`from ${leaseId}`)])]);
  }
  const dayMs = 24 * 3600 * 1000;
  await fresh.db.updateTable('leases').set({ status: 'completed', ended_at: new Date(Date.now() - 8 * dayMs) }).where('id', '=', oldLease).execute();
  await fresh.db.updateTable('leases').set({ status: 'completed', ended_at: new Date(Date.now() - 6 * dayMs) }).where('id', '=', recentLease).execute();
  // No fault to signal and no API heard: the monitor needs no Temporal client for this.
  const monitor = startFleetMonitor({ db: fresh.db, client: {} as Client, heartbeatTimeoutSeconds: 4, tickMs: 50, logSweepMs: 0 });
  try {
    for (let i = 0; i < 100 && (await storedCount(oldLease)) > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await monitor.stop();
  }
  expect(await storedCount(oldLease)).toBe(0);
  expect(await storedCount(recentLease)).toBe(1);
  expect(await fresh.db.selectFrom('container_log_meters').select('assignment_id').where('lease_id', '=', oldLease).execute()).toEqual([]);
});
