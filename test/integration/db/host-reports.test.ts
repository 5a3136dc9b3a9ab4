/**
 * acceptReport against a real PostgreSQL, receipts signed with real host keys (DESIGN §3): receipts
 * are verified on arrival against the chain the database holds; nothing is paid twice, for another
 * host's assignment, after an assignment ended, or beyond the time the engine watched pass; a host
 * whose receipts keep being rejected is taken out of placement. Container states, period closes and
 * the desired state hosts read are checked here too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReportPolicy } from '../../../api/host-reports';
import { acceptReport } from '../../../api/host-reports';
import { generateHostKey } from '../../../domain/host-key';
import type { ProofReceipt } from '../../../domain/proof-receipt';
import { closePeriod, endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { desiredStateOf } from '../../../infra/db/repositories/desired-state.repo';
import { hostEventsOf } from '../../../infra/db/repositories/host-events.repo';
import type { TestAssignment } from '../../support/assignments';
import { openTestAssignment, reservedGpu, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const INTERVAL = 1_000;
/** Every challenge answer recomputed: what is rejected does not depend on a random sample. */
const POLICY: ReportPolicy = { maxClockSkewMs: 5_000, challengeSampleRate: 1, rejectionLimit: 3, unhealthySeconds: 600 };

const keyA = generateHostKey();
const keyB = generateHostKey();

let fresh: FreshDatabase;
let customerId: string;
let providerId: string;
let hostA: string;
let hostB: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostA = await seedHost(fresh.db, { providerId, publicKey: keyA.publicKey });
  hostB = await seedHost(fresh.db, { providerId, publicKey: keyB.publicKey });
});

afterAll(async () => {
  await fresh?.drop();
});

/**
 * One lease with one assignment on a new GPU of `hostId`, dispatched `startedAgoMs` ago (so that a
 * test can send receipts dated in the past without them being older than the assignment).
 */
async function scenario(hostId = hostA, opts: { startedAgoMs?: number; epoch?: number } = {}): Promise<TestAssignment> {
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  const leaseId = await seedLease(fresh.db, customerId);
  const a = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId!, hostId, providerId), {
    epoch: opts.epoch ?? 2,
    proofIntervalMs: INTERVAL,
  });
  const startedAt = new Date(Date.now() - (opts.startedAgoMs ?? 60_000));
  await fresh.db.updateTable('assignments').set({ started_at: startedAt }).where('id', '=', a.assignmentId).execute();
  return a;
}

const report = (receipts: ProofReceipt[], containers: Parameters<typeof acceptReport>[2]['containers'] = []) => ({ containers, receipts });

const assignmentRow = (assignmentId: string) =>
  fresh.db.selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();
const storedSeqs = async (assignmentId: string) =>
  (await fresh.db.selectFrom('proof_receipts').select('seq').where('assignment_id', '=', assignmentId).orderBy('seq').execute()).map((r) => r.seq);
const hostRow = (hostId: string) => fresh.db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirstOrThrow();

/** The watched-time invariant: paid time never exceeds the time between the first and latest accepted receipt's arrival. */
async function expectPaidWithinWatched(assignmentId: string): Promise<number> {
  const row = await assignmentRow(assignmentId);
  const payable = Number(row.payable_ms);
  if (payable > 0) {
    expect(row.first_receipt_at).not.toBeNull();
    expect(payable).toBeLessThanOrEqual(row.last_receipt_at!.getTime() - row.first_receipt_at!.getTime());
  }
  expect(row.verified_seconds).toBe(Math.floor(payable / 1000));
  return payable;
}

describe('acceptReport: receipts', () => {
  test('a valid chain is accepted and stored, the answer gives the tip; a first report pays nothing yet', async () => {
    const a = await scenario();
    const receipts = signChain(a, keyA.secretKey, { count: 5, startAt: Date.now() - 10_000 });
    const answer = await acceptReport(fresh.db, hostA, report(receipts), POLICY);
    expect(answer).toEqual({ accepted: 5, rejected: [], tips: [{ assignmentId: a.assignmentId, seq: 4, hash: receipts[4]!.hash }] });
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2, 3, 4]);
    const row = await assignmentRow(a.assignmentId);
    expect(row).toMatchObject({ tip_seq: 4, tip_hash: receipts[4]!.hash, tip_state: 'running', rejected_streak: 0 });
    expect(row.tip_at?.getTime()).toBe(receipts[4]!.body.at);
    // The receipts claim 4 s, but the engine has watched nothing pass yet: the first report anchors.
    expect(row.payable_ms).toBe('0');
    expect(row.first_receipt_at).not.toBeNull();
  });

  test('a burst of receipts is paid no more than the time the engine watched pass between reports', async () => {
    const a = await scenario();
    const chain = signChain(a, keyA.secretKey, { count: 10, startAt: Date.now() - 20_000 });
    await acceptReport(fresh.db, hostA, report(chain.slice(0, 1)), POLICY);
    await sleep(1_500);
    // Nine receipts claiming nine seconds of work, arriving 1.5 s after the first.
    const answer = await acceptReport(fresh.db, hostA, report(chain.slice(1)), POLICY);
    expect(answer).toMatchObject({ accepted: 9, rejected: [] });
    const payable = await expectPaidWithinWatched(a.assignmentId);
    expect(payable).toBeGreaterThan(0);
    expect(payable).toBeLessThan(9 * INTERVAL);
    expect((await assignmentRow(a.assignmentId)).verified_seconds).toBeLessThanOrEqual(2);
  });

  test('watched time keeps being paid as reports keep arriving, once each', async () => {
    const a = await scenario();
    const start = Date.now() - 1_000;
    let prev: ProofReceipt | undefined;
    for (let i = 0; i < 4; i++) {
      const [receipt] = signChain(a, keyA.secretKey, { count: 1, startAt: start + i * INTERVAL, prev });
      expect(await acceptReport(fresh.db, hostA, report([receipt!]), POLICY)).toMatchObject({ accepted: 1, rejected: [] });
      prev = receipt;
      await sleep(INTERVAL);
    }
    const payable = await expectPaidWithinWatched(a.assignmentId);
    // Three gaps of one interval, each watched in full (the reports were an interval apart).
    expect(payable).toBe(3 * INTERVAL);
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2, 3]);
  });

  test('replaying a report pays nothing twice and rejects nothing', async () => {
    const a = await scenario();
    const chain = signChain(a, keyA.secretKey, { count: 6, startAt: Date.now() - 20_000 });
    await acceptReport(fresh.db, hostA, report(chain.slice(0, 1)), POLICY);
    await sleep(1_200);
    const first = await acceptReport(fresh.db, hostA, report(chain.slice(1, 4)), POLICY);
    expect(first).toMatchObject({ accepted: 3, rejected: [] });
    const payable = Number((await assignmentRow(a.assignmentId)).payable_ms);
    expect(payable).toBeGreaterThan(0);
    await sleep(1_200);

    // The host did not hear the answer and sends the same report again: same tip, nothing new.
    const again = await acceptReport(fresh.db, hostA, report(chain.slice(1, 4)), POLICY);
    expect(again).toEqual({ accepted: 0, rejected: [], tips: first.tips });
    // An old report replayed after newer ones: also nothing.
    expect(await acceptReport(fresh.db, hostA, report(chain.slice(0, 2)), POLICY)).toMatchObject({ accepted: 0, rejected: [] });
    expect(Number((await assignmentRow(a.assignmentId)).payable_ms)).toBe(payable);
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2, 3]);

    // Old receipts resent with new ones: only the new ones count.
    const mixed = await acceptReport(fresh.db, hostA, report(chain.slice(2, 6)), POLICY);
    expect(mixed).toMatchObject({ accepted: 2, rejected: [], tips: [{ seq: 5 }] });
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2, 3, 4, 5]);
    await expectPaidWithinWatched(a.assignmentId);
  });

  test('two identical reports at once are counted once', async () => {
    const a = await scenario();
    const chain = signChain(a, keyA.secretKey, { count: 8, startAt: Date.now() - 20_000 });
    await acceptReport(fresh.db, hostA, report(chain.slice(0, 1)), POLICY);
    await sleep(1_000);
    const both = await Promise.all([
      acceptReport(fresh.db, hostA, report(chain.slice(1)), POLICY),
      acceptReport(fresh.db, hostA, report(chain.slice(1)), POLICY),
    ]);
    expect(both.map((answer) => answer.accepted).sort()).toEqual([0, 7]);
    for (const answer of both) {
      expect(answer.rejected).toEqual([]);
      expect(answer.tips).toEqual([{ assignmentId: a.assignmentId, seq: 7, hash: chain[7]!.hash }]);
    }
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const payable = await expectPaidWithinWatched(a.assignmentId);
    const perReceipt = await fresh.db.selectFrom('proof_receipts').select('payable_ms').where('assignment_id', '=', a.assignmentId).execute();
    expect(perReceipt.reduce((sum, r) => sum + r.payable_ms, 0)).toBe(payable);
  });

  test("receipts of another host's assignment are rejected, and nothing about it leaks", async () => {
    const a = await scenario(hostA);
    // Host B signs receipts for A's assignment, under its own key and claiming either host.
    const asB = signChain({ ...a, hostId: hostB }, keyB.secretKey, { count: 2, startAt: Date.now() - 5_000 });
    const asA = signChain(a, keyB.secretKey, { count: 2, startAt: Date.now() - 5_000 });
    for (const receipts of [asB, asA]) {
      const answer = await acceptReport(fresh.db, hostB, report(receipts), POLICY);
      expect(answer.accepted).toBe(0);
      expect(answer.tips).toEqual([]);
      expect(answer.rejected).toEqual(
        receipts.map((r) => ({ assignmentId: a.assignmentId, seq: r.body.seq, reason: `seq ${r.body.seq}: assignment ${a.assignmentId} is not one of host ${hostB}'s` })),
      );
    }
    // Even once A has a chain, B is told nothing about its tip.
    const own = signChain(a, keyA.secretKey, { count: 1, startAt: Date.now() - 5_000 });
    await acceptReport(fresh.db, hostA, report(own), POLICY);
    expect((await acceptReport(fresh.db, hostB, report([], [{ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' }]), POLICY)).tips).toEqual([]);
    expect(await storedSeqs(a.assignmentId)).toEqual([0]);
    expect((await assignmentRow(a.assignmentId)).running_at).toBeNull();
  });

  test('a receipt under another key breaks the chain there: nothing from it on is stored', async () => {
    const a = await scenario();
    const good = signChain(a, keyA.secretKey, { count: 3, startAt: Date.now() - 10_000 });
    const forged = signChain(a, keyB.secretKey, { count: 2, startAt: Date.now() - 7_000, prev: good[2] });
    const answer = await acceptReport(fresh.db, hostA, report([...good, ...forged]), POLICY);
    expect(answer.accepted).toBe(3);
    expect(answer.rejected.map((r) => [r.seq, r.reason])).toEqual([
      [3, 'seq 3: bad signature'],
      [4, 'seq 4: after broken chain at seq 3'],
    ]);
    expect(answer.tips).toEqual([{ assignmentId: a.assignmentId, seq: 2, hash: good[2]!.hash }]);
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2]);
    expect((await assignmentRow(a.assignmentId)).rejected_streak).toBe(1);
  });

  test('after the assignment ended its receipts are rejected and nothing more is paid', async () => {
    const a = await scenario();
    const chain = signChain(a, keyA.secretKey, { count: 6, startAt: Date.now() - 10_000 });
    await acceptReport(fresh.db, hostA, report(chain.slice(0, 3)), POLICY);
    await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: 'lease_completed' });
    const before = await assignmentRow(a.assignmentId);
    // Without an end time it ends at its last accepted receipt.
    expect(before.ended_at?.getTime()).toBe(chain[2]!.body.at);

    const answer = await acceptReport(fresh.db, hostA, report(chain.slice(3)), POLICY);
    expect(answer.accepted).toBe(0);
    expect(answer.rejected.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(answer.rejected[0]!.reason).toBe('seq 3: the assignment has ended: nothing after its end is paid');
    const after = await assignmentRow(a.assignmentId);
    expect(after).toMatchObject({ tip_seq: 2, payable_ms: before.payable_ms, verified_seconds: before.verified_seconds });
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2]);
    // The host is still told where the ended chain stopped, so it drops what it signed after.
    expect(answer.tips).toEqual([{ assignmentId: a.assignmentId, seq: 2, hash: chain[2]!.hash }]);
  });

  test('the tips answer every chain the report mentions, by container or by receipt, in assignment order', async () => {
    const [one, two, three] = [await scenario(), await scenario(), await scenario()];
    const chainOne = signChain(one!, keyA.secretKey, { count: 2, startAt: Date.now() - 8_000 });
    const chainTwo = signChain(two!, keyA.secretKey, { count: 3, startAt: Date.now() - 8_000 });
    await acceptReport(fresh.db, hostA, report(chainOne), POLICY);
    // One only by its container (its tip as the report found it), two by its receipts, three with no chain yet.
    const answer = await acceptReport(fresh.db, hostA, report(chainTwo, [
      { assignmentId: one!.assignmentId, epoch: one!.epoch, state: 'running' },
      { assignmentId: three!.assignmentId, epoch: three!.epoch, state: 'running' },
    ]), POLICY);
    expect(answer.tips).toEqual([
      { assignmentId: one!.assignmentId, seq: 1, hash: chainOne[1]!.hash },
      { assignmentId: two!.assignmentId, seq: 2, hash: chainTwo[2]!.hash },
    ].sort((x, y) => (x.assignmentId < y.assignmentId ? -1 : 1)));
  });

  test('three reports in a row with rejected receipts make the host unhealthy, once, with an event', async () => {
    const key = generateHostKey();
    const hostId = await seedHost(fresh.db, { providerId, publicKey: key.publicKey });
    const a = await scenario(hostId);
    const forged = signChain(a, keyB.secretKey, { count: 1, startAt: Date.now() - 5_000 });
    const good = signChain(a, key.secretKey, { count: 2, startAt: Date.now() - 5_000 });
    const reject = () => acceptReport(fresh.db, hostId, report(forged), POLICY);

    await reject();
    await reject();
    // An accepted receipt ends the streak.
    await acceptReport(fresh.db, hostId, report(good.slice(0, 1)), POLICY);
    expect((await assignmentRow(a.assignmentId)).rejected_streak).toBe(0);
    const forgedNext = signChain(a, keyB.secretKey, { count: 1, startAt: Date.now() - 4_000, prev: good[0] });
    const rejectNext = () => acceptReport(fresh.db, hostId, report(forgedNext), POLICY);
    await rejectNext();
    await rejectNext();
    expect((await hostRow(hostId)).unhealthy_until).toBeNull();
    expect(await hostEventsOf(fresh.db, hostId)).toEqual([]);

    await rejectNext();
    const host = await hostRow(hostId);
    expect(host.unhealthy_until!.getTime()).toBeGreaterThan(Date.now() + 590_000);
    const events = await hostEventsOf(fresh.db, hostId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'receipts_rejected', assignment_id: a.assignmentId, host_id: hostId });
    expect(events[0]!.detail).toMatch(/^3 reports in a row with rejected receipts; last: seq 1: bad signature/);

    // A fourth does not record it again.
    await rejectNext();
    expect(await hostEventsOf(fresh.db, hostId)).toHaveLength(1);
  });

  test('a report is the host’s sign of life: it brings a lost host back online', async () => {
    const key = generateHostKey();
    const hostId = await seedHost(fresh.db, { providerId, publicKey: key.publicKey, status: 'lost', heartbeatAgeSeconds: 300 });
    await acceptReport(fresh.db, hostId, report([]), POLICY);
    const host = await hostRow(hostId);
    expect(host.status).toBe('online');
    expect(host.last_heartbeat_at!.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });
});

describe('acceptReport: container states', () => {
  test('are recorded on the host’s own live assignment of that epoch; running_at is set once', async () => {
    const a = await scenario(hostA, { epoch: 3 });
    const state = (s: 'running' | 'exited' | 'missing', extra: { epoch?: number; exitCode?: number; detail?: string } = {}) =>
      ({ assignmentId: a.assignmentId, epoch: extra.epoch ?? a.epoch, state: s, ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}), ...(extra.detail ? { detail: extra.detail } : {}) });

    // A stale epoch and another host's word change nothing.
    await acceptReport(fresh.db, hostA, report([], [state('running', { epoch: 2 })]), POLICY);
    await acceptReport(fresh.db, hostB, report([], [state('running')]), POLICY);
    expect(await assignmentRow(a.assignmentId)).toMatchObject({ reported_state: null, running_at: null });

    await acceptReport(fresh.db, hostA, report([], [state('running')]), POLICY);
    const running = await assignmentRow(a.assignmentId);
    expect(running.reported_state).toBe('running');
    expect(running.running_at).not.toBeNull();

    await sleep(50);
    await acceptReport(fresh.db, hostA, report([], [state('running')]), POLICY);
    await acceptReport(fresh.db, hostA, report([], [state('exited', { exitCode: 137, detail: 'killed' })]), POLICY);
    await acceptReport(fresh.db, hostA, report([], [state('running', { epoch: 2 })]), POLICY);
    const exited = await assignmentRow(a.assignmentId);
    expect(exited).toMatchObject({ reported_state: 'exited', reported_exit_code: 137, reported_detail: 'killed' });
    expect(exited.running_at?.getTime()).toBe(running.running_at!.getTime());

    // Once ended, the host's word no longer changes it.
    await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: 'lease_completed' });
    await acceptReport(fresh.db, hostA, report([], [state('missing', { detail: 'gone' })]), POLICY);
    expect((await assignmentRow(a.assignmentId)).reported_state).toBe('exited');
  });
});

describe('acceptReport: a container done before the first report', () => {
  test('exited with an exit code counts as started (it ran); missing with a reason does not', async () => {
    const quick = await scenario(hostA);
    const refused = await scenario(hostA);
    await acceptReport(fresh.db, hostA, report([], [
      { assignmentId: quick.assignmentId, epoch: quick.epoch, state: 'exited', exitCode: 0 },
      { assignmentId: refused.assignmentId, epoch: refused.epoch, state: 'missing', detail: 'image img is not present' },
    ]), POLICY);
    expect((await assignmentRow(quick.assignmentId)).running_at).not.toBeNull();
    expect(await assignmentRow(refused.assignmentId)).toMatchObject({ running_at: null, reported_state: 'missing' });
  });
});

describe('closePeriod', () => {
  test('digests each receipt in one period only, and moves the challenge once, keeping the previous one', async () => {
    const a = await scenario();
    const version = async () => (await desiredStateOf(fresh.db, hostA))!.version;
    const period1 = signChain(a, keyA.secretKey, { count: 3, startAt: Date.now() - 10_000, period: 1, seed: 'seed-1' });
    await acceptReport(fresh.db, hostA, report(period1), POLICY);

    const before = await version();
    const close = { leaseId: a.leaseId, period: 1, next: { period: 2, challengeSeed: 'seed-2' } };
    const first = await closePeriod(fresh.db, close);
    expect(first.receiptHashes.sort()).toEqual(period1.map((r) => r.hash).sort());
    expect(first.verified).toEqual([{ assignmentId: a.assignmentId, verifiedSeconds: 0 }]);
    expect(await assignmentRow(a.assignmentId)).toMatchObject({ period: 2, challenge_seed: 'seed-2', prev_period: 1, prev_challenge_seed: 'seed-1' });
    expect(await version()).toBe(before + 1);

    // A retry (the reply was lost) takes the same receipts and moves nothing again.
    const retry = await closePeriod(fresh.db, close);
    expect(retry.receiptHashes.sort()).toEqual(first.receiptHashes.sort());
    expect(await assignmentRow(a.assignmentId)).toMatchObject({ period: 2, challenge_seed: 'seed-2', prev_period: 1, prev_challenge_seed: 'seed-1' });
    expect(await version()).toBe(before + 1);

    // The host answers the old challenge until it has read the new one; both are accepted.
    const late = signChain(a, keyA.secretKey, { count: 1, startAt: Date.now() - 7_000, period: 1, seed: 'seed-1', prev: period1[2] });
    const period2 = signChain(a, keyA.secretKey, { count: 2, startAt: Date.now() - 6_000, period: 2, seed: 'seed-2', prev: late[0] });
    expect(await acceptReport(fresh.db, hostA, report([...late, ...period2]), POLICY)).toMatchObject({ accepted: 3, rejected: [] });
    // A period older than the previous one is not.
    const stale = signChain(a, keyA.secretKey, { count: 1, startAt: Date.now() - 5_000, period: 0, seed: 'seed-0', prev: period2[1] });
    expect((await acceptReport(fresh.db, hostA, report(stale), POLICY)).rejected[0]!.reason).toMatch(/wrong period/);

    const second = await closePeriod(fresh.db, { leaseId: a.leaseId, period: 2, next: { period: 3, challengeSeed: 'seed-3' } });
    expect(second.receiptHashes.sort()).toEqual([...late, ...period2].map((r) => r.hash).sort());
    expect(await assignmentRow(a.assignmentId)).toMatchObject({ period: 3, challenge_seed: 'seed-3', prev_period: 2, prev_challenge_seed: 'seed-2' });
    const settled = await fresh.db.selectFrom('proof_receipts').select(['seq', 'settled_period']).where('assignment_id', '=', a.assignmentId).orderBy('seq').execute();
    expect(settled).toEqual([
      { seq: 0, settled_period: 1 }, { seq: 1, settled_period: 1 }, { seq: 2, settled_period: 1 },
      { seq: 3, settled_period: 2 }, { seq: 4, settled_period: 2 }, { seq: 5, settled_period: 2 },
    ]);

    // The last close: nothing left to digest, no next challenge, and ended assignments still totalled.
    await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: 'lease_completed' });
    const last = await closePeriod(fresh.db, { leaseId: a.leaseId, period: 3, next: null });
    expect(last.receiptHashes).toEqual([]);
    expect(last.verified.map((v) => v.assignmentId)).toEqual([a.assignmentId]);
    expect((await assignmentRow(a.assignmentId)).period).toBe(3);
  });
});
