/**
 * Hosts are not trusted (DESIGN §5, §8): a scripted hostile host with its own registered key lies about
 * its containers and signs what it likes. Whatever it sends, it is paid no more than the engine watched
 * pass, it never moves another host's chain, bad input is answered 4xx naming the field with nothing
 * written, and a lease it holds goes on (on an honest provider when the hostile host loses its place).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { generateHostKey } from '../../../domain/host-key';
import { parseTokenAmount } from '../../../domain/money';
import { GENESIS_HASH } from '../../../domain/proof-receipt';
import { createProvider } from '../../../infra/db/repositories/providers.repo';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { HostileHost } from '../../support/hostile-host';
import { expectMoneyBalanced, paidByProvider } from '../../support/money';

let engine: TestEngine;
let evilProvider: { id: string; apiKey: string };
const HONEST = 'hh-honest';
const leases: string[] = [];
const hostiles: HostileHost[] = [];

beforeAll(async () => {
  engine = await startEngine({
    heartbeatTimeoutSeconds: 4, proofIntervalSeconds: 1, settlementPeriodSeconds: 5,
    hosts: [{ hostId: HONEST, provider: 'hh-honest-co', tier: 1, gpus: 'A100:80:2.00x4' }],
  });
  evilProvider = await createProvider(engine.database.db, 'evil-corp', 1);
}, 300_000);
afterAll(async () => {
  await Promise.all(hostiles.map((h) => h.stop()));
  await engine?.stop();
});

// Silence the test's hostile hosts, end what it left running, and wait until the engine counts those
// hosts lost, so that the next test's (cheaper) hostile host is the one a reservation picks.
afterEach(async () => {
  const hosts = hostiles.splice(0);
  await Promise.all(hosts.map((host) => host.stop()));
  for (const id of leases.splice(0)) {
    let askedAt = 0;
    await waitFor(async () => {
      if (TERMINAL.includes((await lease(id)).status)) return true;
      // Asked again: a cancel may be refused while the workflow is busy.
      if (Date.now() - askedAt > 3_000) {
        askedAt = Date.now();
        await engine.request('POST', `/v1/leases/${id}/cancel`);
      }
      return false;
    }, 90_000, `lease ${id} ended`);
  }
  await waitFor(async () => {
    const listed = (await engine.request('GET', '/v1/hosts')).body as { hostId: string; status: string }[];
    const left = listed.filter((h) => hosts.some((host) => host.hostId === h.hostId) && h.status !== 'lost');
    if (left.length > 0) throw new Error(`not lost yet: ${JSON.stringify(left)}`);
    return true;
  }, 30_000, 'hostile hosts lost');
}, 180_000);

const TERMINAL = ['completed', 'cancelled', 'failed'];
interface AssignmentView { assignmentId: string; hostId: string; providerId: string; rank: number; epoch: number; endedAt: string | null; endReason: string | null; verifiedSeconds: number; pricePerGpuHour: string }
interface LeaseView { id: string; status: string; failoverCount: number; assignments: AssignmentView[] }

let registered = 0;
/** A hostile host of evil-corp with one A100, cheaper than any registered before it: reservations pick it first. */
async function hostile(): Promise<HostileHost> {
  registered += 1;
  const price = (1 - registered * 0.05).toFixed(2);
  const hostId = `evil-${registered}`;
  const host = await HostileHost.register(engine.apiUrl, hostId, evilProvider.apiKey, [{ id: `${hostId}-gpu0`, model: 'A100', pricePerGpuHour: price }]);
  hostiles.push(host);
  host.start();
  return host;
}

const lease = async (id: string) => (await engine.request('GET', `/v1/leases/${id}`)).body as LeaseView;
const leaseWhere = (id: string, pred: (l: LeaseView) => boolean, what: string, timeoutMs = 60_000) =>
  waitFor(async () => {
    const view = await lease(id);
    return pred(view) && view;
  }, timeoutMs, what);
const live = (view: LeaseView) => view.assignments.filter((a) => a.endedAt === null);

async function startLease(gpuCount = 1): Promise<string> {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount, minTier: 1, maxPricePerGpuHour: '3', durationSeconds: 600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  leases.push(created.body.id as string);
  return created.body.id as string;
}

/** A lease running with one of its GPUs on `host` (which says the container runs). */
async function leaseRunningOn(host: HostileHost, gpuCount = 1) {
  const leaseId = await startLease(gpuCount);
  const view = await leaseWhere(leaseId, (l) => l.status === 'running', 'lease running');
  expect(live(view).map((a) => a.hostId)).toContain(host.hostId);
  return { leaseId, view, assignment: await host.assignmentOf(leaseId) };
}

const db = () => engine.database.db;
const row = (assignmentId: string) => db().selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();
const chainOf = async (assignmentId: string) => {
  const a = await row(assignmentId);
  const { count } = await db().selectFrom('proof_receipts').select((eb) => eb.fn.countAll<string>().as('count')).where('assignment_id', '=', assignmentId).executeTakeFirstOrThrow();
  return { tipSeq: a.tip_seq, tipHash: a.tip_hash, payableMs: Number(a.payable_ms), verified: a.verified_seconds, streak: a.rejected_streak, receipts: Number(count) };
};
/** DESIGN §5, as stored: payable time never exceeds the arrival of the latest accepted receipt minus the first's. */
async function expectWithinWatched(assignmentId: string): Promise<void> {
  const { rows } = await sql<{ payable: string; watched: string | null }>`
    select payable_ms as payable, round(extract(epoch from last_receipt_at - first_receipt_at) * 1000)::bigint as watched
    from assignments where id = ${assignmentId}`.execute(db());
  const [{ payable, watched }] = rows as [{ payable: string; watched: string | null }];
  expect(Number(payable)).toBeLessThanOrEqual(Number(watched ?? 0));
}
const hostRow = (hostId: string) => db().selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirstOrThrow();
const eventsOf = (hostId: string) => db().selectFrom('host_events').selectAll().where('host_id', '=', hostId).orderBy('id').execute();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('3: a host cannot read another host’s desired state, nor poll unsigned or with a stale or altered signature', async () => {
  const evil = await hostile();
  const honestPath = `/v1/hosts/${HONEST}/desired?after=0&waitMs=0`;
  const own = `/v1/hosts/${evil.hostId}/desired?after=0&waitMs=0`;
  const cases: [string, Promise<{ status: number; body: { type: string; detail: string } }>, RegExp][] = [
    ['own key, own id, honest host’s path', evil.send('GET', honestPath), /does not match host/],
    ['own key, honest host’s id', evil.send('GET', honestPath, undefined, { hostIdHeader: HONEST }), /does not verify/],
    ['unsigned', evil.send('GET', own, undefined, { unsigned: true }), /missing host signature/],
    ['signed 61 s ago', evil.send('GET', own, undefined, { timestamp: Date.now() - 61_000 }), /within 60 s/],
    ['signed 61 s ahead', evil.send('GET', own, undefined, { timestamp: Date.now() + 61_000 }), /within 60 s/],
    ['signed by another key', evil.send('GET', own, undefined, { key: generateHostKey() }), /does not verify/],
    // The query is signed too: a captured poll cannot be re-aimed.
    ['query changed after signing', evil.resend({ ...evil.sign('GET', own, undefined), path: own.replace('waitMs=0', 'waitMs=5') }), /does not verify/],
    ['a report as the honest host', evil.send('POST', `/v1/hosts/${HONEST}/reports`, '{"containers":[],"receipts":[]}', { hostIdHeader: HONEST }), /does not verify/],
  ];
  for (const [name, pending, detail] of cases) {
    const res = await pending;
    expect({ name, status: res.status }).toEqual({ name, status: 401 });
    expect(res.body.type).toBe('urn:lease-engine:problem:bad-signature');
    expect(res.body.detail).toMatch(detail);
    expect(JSON.stringify(res.body)).not.toMatch(/assignments/);
  }
  expect((await evil.send('GET', own)).status).toBe(200);
});

test('8: desired-state polls with an invalid after or waitMs → 400 naming query.after / query.waitMs', async () => {
  const evil = await hostile();
  const cases: [string, string][] = [
    ['after=0&waitMs=60000', 'query.waitMs'], ['after=0&waitMs=null', 'query.waitMs'], ['after=0&waitMs=-1', 'query.waitMs'],
    ['after=0&waitMs=1.5', 'query.waitMs'], ['after=-1&waitMs=0', 'query.after'], ['after=x&waitMs=0', 'query.after'],
    ['after=1&after=2', 'query.after'], ['after=0&sleepMs=1', 'query.sleepMs'],
  ];
  for (const [query, field] of cases) {
    const res = await evil.send('GET', `/v1/hosts/${evil.hostId}/desired?${query}`);
    expect({ query, status: res.status }).toEqual({ query, status: 400 });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
});

test('7: every malformed report field → 400 (or 413) naming it, and nothing about the chain changes', async () => {
  const evil = await hostile();
  evil.mode = 'honest';
  const { leaseId, assignment } = await leaseRunningOn(evil);
  await waitFor(async () => (await chainOf(assignment.assignmentId)).verified >= 2, 30_000, 'some seconds verified');
  await evil.setMode('lying');
  const before = await chainOf(assignment.assignmentId);
  const events = (await eventsOf(evil.hostId)).length;
  const tip = await row(assignment.assignmentId);
  const receipt = evil.forge(await evil.assignmentOf(leaseId), { seq: tip.tip_seq! + 1, at: Math.max(Date.now(), tip.tip_at!.getTime() + 1), prevHash: tip.tip_hash! });
  const base = { containers: [{ assignmentId: assignment.assignmentId, epoch: assignment.epoch, state: 'running' }], receipts: [receipt] };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mutations write any shape on purpose
  type Report = any;
  const cases: [string, (r: Report) => void, string, number?][] = [
    ['containers[0].epoch = -1', (r) => (r.containers[0].epoch = -1), 'containers[0].epoch'],
    ['containers[0].epoch = "x"', (r) => (r.containers[0].epoch = 'x'), 'containers[0].epoch'],
    ['containers[0].epoch = 2^40', (r) => (r.containers[0].epoch = 2 ** 40), 'containers[0].epoch'],
    ['containers[0].state = zombie', (r) => (r.containers[0].state = 'zombie'), 'containers[0].state'],
    ['body.at = -1e15', (r) => (r.receipts[0].body.at = -1e15), 'receipts[0].body.at'],
    ['body.at = "now"', (r) => (r.receipts[0].body.at = 'now'), 'receipts[0].body.at'],
    ['body.seq = 1.5', (r) => (r.receipts[0].body.seq = 1.5), 'receipts[0].body.seq'],
    ['telemetry.powerW = 1e12', (r) => (r.receipts[0].body.telemetry.powerW = 1e12), 'receipts[0].body.telemetry.powerW'],
    ['hash not hex', (r) => (r.receipts[0].hash = 'z'.repeat(64)), 'receipts[0].hash'],
    ['signature too long', (r) => (r.receipts[0].signature += 'ab'), 'receipts[0].signature'],
    ['an unknown field', (r) => (r.bonusSeconds = 3600), 'bonusSeconds'],
    ['an unknown receipt field', (r) => (r.receipts[0].body.payableMs = 3_600_000), 'receipts[0].body.payableMs'],
    ['300 receipts', (r) => (r.receipts = Array.from({ length: 300 }, (_, i) => ({ ...receipt, body: { ...receipt.body, seq: receipt.body.seq + i } }))), 'receipts'],
    ['2000 containers', (r) => (r.containers = Array.from({ length: 2000 }, () => r.containers[0])), 'containers'],
    ['a null receipt', (r) => (r.receipts = [null]), 'receipts[0]'],
    ['a body over 512 kB', (r) => (r.padding = 'x'.repeat(600 * 1024)), '512 kB', 413],
  ];
  for (const [name, mutate, field, status = 400] of cases) {
    const report: Report = structuredClone(base);
    mutate(report);
    const res = await evil.report(report);
    expect({ name, status: res.status }).toEqual({ name, status });
    if (status === 400) expect({ name, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({ name, fields: expect.arrayContaining([field]) });
    else expect(res.body.detail).toContain(field);
  }
  expect(await chainOf(assignment.assignmentId)).toEqual(before);
  expect(await eventsOf(evil.hostId)).toHaveLength(events);
  expect((await hostRow(evil.hostId)).unhealthy_until).toBeNull();
  const view = await lease(leaseId);
  expect(view.status).toBe('running');
  expect(live(view).map((a) => a.assignmentId)).toEqual([assignment.assignmentId]);
  // The unmutated report was valid all along: only the mutations were refused.
  const fresh = await row(assignment.assignmentId);
  const again = evil.forge(await evil.assignmentOf(leaseId), { seq: fresh.tip_seq! + 1, at: Math.max(Date.now(), fresh.tip_at!.getTime() + 1), prevHash: fresh.tip_hash! });
  const valid = await evil.report({ ...base, receipts: [again] });
  expect(valid.body).toMatchObject({ accepted: 1, rejected: [] });
});

test('1: a backdated chain pays nothing, and an hour of receipts in one burst pays no more than was watched', async () => {
  const evil = await hostile();
  const { leaseId, assignment: a } = await leaseRunningOn(evil);
  const startedAt = (await row(a.assignmentId)).started_at.getTime();

  const backdated = await evil.report({ containers: [], receipts: [evil.forge(a, { seq: 0, at: startedAt - 3_600_000, prevHash: GENESIS_HASH })] });
  expect(backdated.body).toMatchObject({ accepted: 0, rejected: [{ assignmentId: a.assignmentId, seq: 0, reason: expect.stringMatching(/dated before the assignment started/) }] });
  expect(await chainOf(a.assignmentId)).toMatchObject({ tipSeq: null, payableMs: 0, verified: 0, receipts: 0 });

  // Seq 0 anchors; three seconds later, receipts 2 s apart dated up to 4.5 s ahead claim twice what passed.
  const [anchor] = await evil.forgeChain(await evil.assignmentOf(leaseId), null, [Date.now()]);
  expect((await evil.report({ containers: [], receipts: [anchor] })).body).toMatchObject({ accepted: 1, rejected: [] });
  await pause(3_000);
  const ats = Array.from({ length: Math.floor((Date.now() + 4_500 - anchor!.body.at) / 2_000) }, (_, k) => anchor!.body.at + 2_000 * (k + 1));
  const claimed = await evil.report({ containers: [], receipts: await evil.forgeChain(await evil.assignmentOf(leaseId), { seq: 0, hash: anchor!.hash }, ats) });
  expect(claimed.body).toMatchObject({ accepted: ats.length, rejected: [] });
  const afterClaim = await chainOf(a.assignmentId);
  expect(afterClaim.payableMs).toBeLessThan(ats.length * 2_000);
  await expectWithinWatched(a.assignmentId);

  // An hour at 2 × the proof interval (1800 receipts) in one burst of reports: the future is refused (on its
  // date, before any challenge answer is sampled, so only the first few need solving).
  const tip = await row(a.assignmentId);
  const hour = await evil.forgeChain(await evil.assignmentOf(leaseId), { seq: tip.tip_seq!, hash: tip.tip_hash! }, Array.from({ length: 1800 }, (_, k) => tip.tip_at!.getTime() + 2_000 * (k + 1)), 8);
  const answers = [];
  for (let i = 0; i < hour.length; i += 256) answers.push(await evil.report({ containers: [], receipts: hour.slice(i, i + 256) }));
  expect(answers.every((r) => r.status === 200)).toBe(true);
  const accepted = answers.reduce((n, r) => n + (r.body.accepted as number), 0);
  expect(accepted).toBeLessThan(5);
  expect(answers[0]!.body.rejected.map((r: { reason: string }) => r.reason)).toContainEqual(expect.stringMatching(/time in the future/));
  const final = await chainOf(a.assignmentId);
  await expectWithinWatched(a.assignmentId);
  const tipRow = await row(a.assignmentId);
  expect(final.verified).toBeLessThanOrEqual(Math.ceil((tipRow.last_receipt_at!.getTime() - tipRow.first_receipt_at!.getTime()) / 1000));
  expect(final.verified).toBeLessThan(30);

  // Reports full of refused receipts cost the host its place; the lease goes on elsewhere.
  expect((await hostRow(evil.hostId)).unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
  const moved = await leaseWhere(leaseId, (l) => l.status === 'running' && live(l).some((x) => x.hostId === HONEST), 'failover to the honest host');
  expect(moved.assignments.find((x) => x.assignmentId === a.assignmentId)).toMatchObject({ endReason: 'host_unhealthy', verifiedSeconds: final.verified });
}, 180_000);

test('2: replayed reports, bursts and receipts of other hosts’ assignments, leases or epochs pay nothing', async () => {
  const evil = await hostile();
  const { leaseId, view, assignment: a } = await leaseRunningOn(evil, 2);
  const honest = live(view).find((x) => x.hostId === HONEST)!;
  const [r0] = await evil.forgeChain(a, null, [Date.now()]);
  const first = await evil.report({ containers: [], receipts: [r0] });
  await pause(1_500);
  const [r1] = await evil.forgeChain(await evil.assignmentOf(leaseId), { seq: 0, hash: r0!.hash }, [Date.now()]);
  const second = await evil.report({ containers: [], receipts: [r1] });
  expect([first.body.accepted, second.body.accepted]).toEqual([1, 1]);
  const paid = await chainOf(a.assignmentId);

  // The same signed bytes again, within the 60 s the signature is fresh, once and then ten at a time
  // (sooner than the heartbeat timeout: a host that proves nothing for that long is replaced, see 9).
  await pause(2_000);
  for (const sent of [second.sent, first.sent]) {
    const again = await evil.resend(sent);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ accepted: 0, rejected: [], tips: [{ assignmentId: a.assignmentId, seq: 1, hash: r1!.hash }] });
  }
  const burst = await Promise.all(Array.from({ length: 10 }, () => evil.resend(second.sent)));
  expect(burst.every((r) => [200, 429].includes(r.status) && (r.status === 429 || r.body.accepted === 0))).toBe(true);
  expect(await chainOf(a.assignmentId)).toEqual(paid);

  // Overlapping reports at once, each claiming more than the engine watched (4 or 5 s of receipts dated up
  // to 3 s ahead, after ~3.5 s): one chain, paid once, and whichever locks the chain last cannot arrive earlier.
  const ahead = await evil.forgeChain(await evil.assignmentOf(leaseId), { seq: 1, hash: r1!.hash }, [1, 2, 3, 4, 5].map((k) => r1!.body.at + 1_000 * k));
  const overlapping = await Promise.all([4, 5, 4, 5, 4, 5, 4, 5].map((n) => evil.report({ containers: [], receipts: ahead.slice(0, n) })));
  expect(overlapping.every((r) => r.status === 200 && r.body.rejected.length === 0)).toBe(true);
  expect(await chainOf(a.assignmentId)).toMatchObject({ tipSeq: 6, receipts: 7 });
  await expectWithinWatched(a.assignmentId);

  // Another host's assignment, an unknown one, another lease, a stale epoch: refused, nothing moves.
  const tip = await row(a.assignmentId);
  const next = { seq: tip.tip_seq! + 1, at: Math.max(Date.now(), tip.tip_at!.getTime() + 1), prevHash: tip.tip_hash! };
  const cur = await evil.assignmentOf(leaseId);
  const forged = [
    evil.forge({ ...cur, assignmentId: honest.assignmentId, epoch: honest.epoch, gpuId: (await row(honest.assignmentId)).gpu_id }, { seq: 0, at: Date.now(), prevHash: GENESIS_HASH }),
    evil.forge({ ...cur, assignmentId: `${leaseId}-r9-e9` }, { seq: 0, at: Date.now(), prevHash: GENESIS_HASH }),
    evil.forge(cur, next, { leaseId: randomUUID() }),
    evil.forge(cur, next, { epoch: a.epoch - 1 }),
  ];
  const others = await evil.report({ containers: [{ assignmentId: a.assignmentId, epoch: a.epoch - 1, state: 'exited', exitCode: 1 }], receipts: forged.slice(0, 3) });
  const reasons = (res: typeof others) => res.body.rejected.map((r: { reason: string }) => r.reason);
  expect(reasons(others)).toEqual([
    expect.stringMatching(/is not one of host/), expect.stringMatching(/is not one of host/), expect.stringMatching(/wrong leaseId/),
  ]);
  const stale = await evil.report({ containers: [], receipts: [forged[3]] });
  expect(reasons(stale)).toEqual([expect.stringMatching(/wrong epoch/)]);
  expect(await chainOf(a.assignmentId)).toMatchObject({ tipSeq: tip.tip_seq, payableMs: Number(tip.payable_ms), streak: 2 });
  expect(await db().selectFrom('proof_receipts').select('hash').where('hash', 'in', forged.map((r) => r.hash)).execute()).toEqual([]);
  // The stale epoch's "exited" was not taken as this assignment's; an accepted receipt clears the streak.
  expect((await row(a.assignmentId)).reported_state).toBe('running');
  expect((await evil.report({ containers: [], receipts: [evil.forge(await evil.assignmentOf(leaseId), { ...next, at: Math.max(Date.now(), next.at + 1) })] })).body.accepted).toBe(1);
  expect((await chainOf(a.assignmentId)).streak).toBe(0);
  await pause(1_500);
  const still = await lease(leaseId);
  expect({ status: still.status, failovers: still.failoverCount, live: live(still).length }).toEqual({ status: 'running', failovers: 0, live: 2 });
}, 180_000);

test('4: receipts for a container the engine stopped are refused, and the host is paid exactly its verified seconds', async () => {
  const evil = await hostile();
  evil.mode = 'honest';
  evil.lieAboutStopped = true;
  const { leaseId, assignment: a } = await leaseRunningOn(evil);
  await waitFor(async () => (await chainOf(a.assignmentId)).verified >= 3, 30_000, 'some seconds verified');
  expect([200, 202]).toContain((await engine.request('POST', `/v1/leases/${leaseId}/cancel`)).status);
  const ended = await leaseWhere(leaseId, (l) => l.status === 'cancelled', 'cancelled');

  const seen = evil.answers.length;
  const refused = () => evil.answers.slice(seen).filter((answer) => answer.rejected.some((r) => r.assignmentId === a.assignmentId && /has ended/.test(r.reason)));
  await waitFor(async () => refused().length >= 1, 15_000, 'receipts after the end refused');
  const atEnd = await chainOf(a.assignmentId);
  await waitFor(async () => refused().length >= 3, 15_000, 'more receipts after the end refused');
  expect(await chainOf(a.assignmentId)).toEqual(atEnd);
  expect(evil.desired?.assignments.find((x) => x.assignmentId === a.assignmentId)?.state).toBe('stop');
  expect((await row(a.assignmentId)).end_reason).toBe('lease_cancelled');
  await expectWithinWatched(a.assignmentId);

  const mine = ended.assignments.find((x) => x.assignmentId === a.assignmentId)!;
  expect(mine.verifiedSeconds).toBe(atEnd.verified);
  const { settlements } = await expectMoneyBalanced(engine, leaseId);
  const paid = paidByProvider(settlements).get(evilProvider.id);
  expect(paid?.seconds).toBe(mine.verifiedSeconds);
  expect(paid?.gross).toBe((parseTokenAmount(mine.pricePerGpuHour) * BigInt(mine.verifiedSeconds)) / 3600n);
}, 180_000);

test('5: a host that takes the reservation and never starts the container is replaced, and marked unhealthy', async () => {
  const evil = await hostile();
  await evil.setMode('silent');
  const leaseId = await startLease();
  const running = await leaseWhere(leaseId, (l) => l.status === 'running', 'lease running on the replacement', 90_000);
  const [placed] = live(running);
  expect(placed).toMatchObject({ hostId: HONEST, rank: 0 });
  const refused = running.assignments.find((x) => x.hostId === evil.hostId)!;
  expect(refused).toMatchObject({ endReason: 'start_failed', verifiedSeconds: 0, rank: 0 });
  expect(placed!.epoch).toBeGreaterThan(refused.epoch);
  expect(await eventsOf(evil.hostId)).toContainEqual(expect.objectContaining({ kind: 'start_timeout', assignment_id: refused.assignmentId }));
  expect((await hostRow(evil.hostId)).unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
}, 180_000);

test('6: three reports in a row with rejected receipts make the host unhealthy; its rank fails over and the lease goes on', async () => {
  const evil = await hostile();
  const { leaseId, assignment: a } = await leaseRunningOn(evil);
  const stranger = generateHostKey();
  for (const n of [1, 2, 3]) {
    const forged = evil.forge(await evil.assignmentOf(leaseId), { seq: 0, at: Date.now(), prevHash: GENESIS_HASH }, {}, stranger);
    const res = await evil.report({ containers: [{ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' }], receipts: [forged] });
    expect(res.body.rejected).toEqual([expect.objectContaining({ seq: 0, reason: expect.stringMatching(/bad signature/) })]);
    expect((await chainOf(a.assignmentId)).streak).toBe(n);
    if (n < 3) expect((await hostRow(evil.hostId)).unhealthy_until).toBeNull();
  }
  expect((await hostRow(evil.hostId)).unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
  expect(await eventsOf(evil.hostId)).toContainEqual(expect.objectContaining({ kind: 'receipts_rejected', assignment_id: a.assignmentId }));

  const moved = await leaseWhere(leaseId, (l) => l.status === 'running' && live(l).some((x) => x.hostId === HONEST), 'failover to the honest host');
  expect(moved.failoverCount).toBe(1);
  expect(moved.assignments.find((x) => x.assignmentId === a.assignmentId)).toMatchObject({ endReason: 'host_unhealthy', verifiedSeconds: 0 });
  expect(live(moved)).toEqual([expect.objectContaining({ hostId: HONEST, rank: a.rank })]);
}, 180_000);

test('9: a host that says its container runs but proves nothing is replaced, and marked unhealthy', async () => {
  const evil = await hostile();
  // `lying`: every report says the container runs; not one receipt comes with it.
  const { leaseId, assignment: a } = await leaseRunningOn(evil);
  const moved = await leaseWhere(leaseId, (l) => l.status === 'running' && live(l).some((x) => x.hostId === HONEST), 'failover to the honest host', 90_000);
  expect(moved.failoverCount).toBe(1);
  expect(moved.assignments.find((x) => x.assignmentId === a.assignmentId)).toMatchObject({ endReason: 'host_unhealthy', verifiedSeconds: 0 });
  expect(live(moved)).toEqual([expect.objectContaining({ hostId: HONEST, rank: a.rank })]);
  expect(await eventsOf(evil.hostId)).toContainEqual(expect.objectContaining({ kind: 'no_proof', assignment_id: a.assignmentId }));
  expect((await hostRow(evil.hostId)).unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
}, 180_000);
