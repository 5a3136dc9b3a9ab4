/**
 * verifyPeriodReceipts against a real PostgreSQL with receipts signed by real host keys: only valid,
 * chained receipts are recorded, payable time is counted once whatever is retried, and work after an
 * assignment ended or under another key is never paid.
 */
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../../activities/control';
import type { AssignmentReceipts, ControlActivities, VerifyPeriodInput } from '../../../activities/contracts';
import { generateHostKey } from '../../../domain/host-key';
import type { ProofReceipt, ProofReceiptBody } from '../../../domain/proof-receipt';
import { GENESIS_HASH, signReceipt, solveChallenge } from '../../../domain/proof-receipt';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const INTERVAL = 1_000;
const hostKey = generateHostKey();

let fresh: FreshDatabase;
let activities: ControlActivities;
let customerId: string;
let providerId: string;
let hostId: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  activities = createControlActivities({ db: fresh.db });
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostId = await seedHost(fresh.db, { providerId, publicKey: hostKey.publicKey });
});

afterAll(async () => {
  await fresh?.drop();
});

interface Scenario {
  leaseId: string;
  assignmentId: string;
  gpuId: string;
  epoch: number;
}

async function scenario(): Promise<Scenario> {
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  const leaseId = await seedLease(fresh.db, customerId);
  const assignmentId = `asg-${randomUUID()}`;
  await activities.openAssignment({
    assignmentId,
    leaseId,
    gpu: { gpuId: gpuId!, hostId, providerId, tier: 1, model: 'H100', pricePerGpuHour: '2000000' },
    rank: 0,
    epoch: 3,
    startedAt: Date.now() - 600_000,
  });
  return { leaseId, assignmentId, gpuId: gpuId!, epoch: 3 };
}

/** `count` consecutive receipts one interval apart, continuing after `prev` (or from genesis). */
function chain(
  s: Scenario,
  opts: { period: number; seed: string; count: number; startAt: number; prev?: ProofReceipt; tamper?: (body: ProofReceiptBody) => void; secretKey?: Uint8Array },
): ProofReceipt[] {
  const receipts: ProofReceipt[] = [];
  let prev = opts.prev;
  for (let i = 0; i < opts.count; i++) {
    const seq = prev ? prev.body.seq + 1 : 0;
    const body: ProofReceiptBody = {
      version: 1,
      leaseId: s.leaseId,
      assignmentId: s.assignmentId,
      epoch: s.epoch,
      hostId,
      gpuId: s.gpuId,
      seq,
      at: opts.startAt + i * INTERVAL,
      period: opts.period,
      containerState: 'running',
      telemetry: { source: 'simulated', name: 'H100', utilizationPct: 97, memoryUsedMiB: 4096, memoryTotalMiB: 81_559, temperatureC: 61, powerW: 412 },
      prevHash: prev ? prev.hash : GENESIS_HASH,
      challenge: { seed: opts.seed, answer: solveChallenge(opts.seed, seq) },
    };
    opts.tamper?.(body);
    const receipt = signReceipt(body, opts.secretKey ?? hostKey.secretKey);
    receipts.push(receipt);
    prev = receipt;
  }
  return receipts;
}

function input(s: Scenario, period: number, seed: string, receipts: ProofReceipt[]): VerifyPeriodInput {
  const batch: AssignmentReceipts = { assignmentId: s.assignmentId, epoch: s.epoch, hostId, gpuId: s.gpuId, receipts };
  return { leaseId: s.leaseId, period, challengeSeed: seed, proofIntervalMs: INTERVAL, assignments: [batch] };
}

const stored = async (assignmentId: string) =>
  fresh.db.selectFrom('proof_receipts').select(['seq', 'payable_ms']).where('assignment_id', '=', assignmentId).orderBy('seq').execute();
const verifiedSeconds = async (assignmentId: string) =>
  (await fresh.db.selectFrom('assignments').select('verified_seconds').where('id', '=', assignmentId).executeTakeFirstOrThrow()).verified_seconds;

test('valid receipts are recorded and paid once, across retries and periods', async () => {
  const s = await scenario();
  const start = Date.now() - 30_000;
  const period1 = chain(s, { period: 1, seed: 'seed-1', count: 6, startAt: start });

  const [first] = await activities.verifyPeriodReceipts(input(s, 1, 'seed-1', period1));
  // The first receipt opens the chain; each later one pays the interval since the one before.
  expect(first).toEqual({
    assignmentId: s.assignmentId,
    payableMs: 5 * INTERVAL,
    verifiedSeconds: 5,
    accepted: 6,
    rejected: [],
    tip: { seq: 5, hash: period1[5]!.hash, at: period1[5]!.body.at, containerState: 'running' },
  });

  // A retry (the first reply was lost) answers the same and records nothing twice.
  expect((await activities.verifyPeriodReceipts(input(s, 1, 'seed-1', period1)))[0]).toEqual(first);
  expect(await stored(s.assignmentId)).toHaveLength(6);

  const period2 = chain(s, { period: 2, seed: 'seed-2', count: 4, startAt: start + 6 * INTERVAL, prev: period1[5] });
  // Two attempts of the same verification at once: the assignment lock serialises them.
  const both = await Promise.all([
    activities.verifyPeriodReceipts(input(s, 2, 'seed-2', period2)),
    activities.verifyPeriodReceipts(input(s, 2, 'seed-2', period2)),
  ]);
  for (const [second] of both) expect(second).toMatchObject({ payableMs: 4 * INTERVAL, verifiedSeconds: 9, accepted: 4, rejected: [] });
  expect(await stored(s.assignmentId)).toHaveLength(10);
  expect(await verifiedSeconds(s.assignmentId)).toBe(9);
});

test('a receipt under another key breaks the chain: nothing from it on is recorded or paid', async () => {
  const s = await scenario();
  const start = Date.now() - 30_000;
  const good = chain(s, { period: 1, seed: 'seed', count: 3, startAt: start });
  const forged = chain(s, { period: 1, seed: 'seed', count: 3, startAt: start + 3 * INTERVAL, prev: good[2], secretKey: generateHostKey().secretKey });

  const [result] = await activities.verifyPeriodReceipts(input(s, 1, 'seed', [...good, ...forged]));
  expect(result).toMatchObject({ payableMs: 2 * INTERVAL, verifiedSeconds: 2, accepted: 3 });
  expect(result!.rejected.map((r) => r.seq)).toEqual([3, 4, 5]);
  expect(result!.rejected[0]!.reason).toMatch(/bad signature/);
  expect((await stored(s.assignmentId)).map((r) => r.seq)).toEqual([0, 1, 2]);
});

test('receipts of another epoch are never paid', async () => {
  const s = await scenario();
  const stale = chain({ ...s, epoch: s.epoch - 1 }, { period: 1, seed: 'seed', count: 3, startAt: Date.now() - 10_000 });
  const [result] = await activities.verifyPeriodReceipts(input(s, 1, 'seed', stale));
  expect(result).toMatchObject({ payableMs: 0, verifiedSeconds: 0, accepted: 0, tip: null });
  expect(result!.rejected[0]!.reason).toMatch(/wrong epoch/);
  expect(await stored(s.assignmentId)).toEqual([]);
});

test('the last receipt of a batch always has its challenge answer checked', async () => {
  const s = await scenario();
  const unchecked = createControlActivities({ db: fresh.db, challengeSampleRate: 0 });
  const receipts = chain(s, { period: 1, seed: 'seed', count: 4, startAt: Date.now() - 10_000, tamper: (body) => {
    if (body.seq === 3) body.challenge.answer = '0'.repeat(64);
  } });
  const [result] = await unchecked.verifyPeriodReceipts(input(s, 1, 'seed', receipts));
  expect(result).toMatchObject({ accepted: 3, payableMs: 2 * INTERVAL, rejected: [{ seq: 3, reason: expect.stringMatching(/challenge answer/) }] });
});

test('work signed after the assignment ended is not paid', async () => {
  const s = await scenario();
  const start = Date.now() - 60_000;
  await activities.closeAssignment({ assignmentId: s.assignmentId, endedAt: start + 2_500, endReason: 'host_lost' });
  // A lost host that kept going: only what it signed before it was replaced counts.
  const receipts = chain(s, { period: 1, seed: 'seed', count: 12, startAt: start });
  const [result] = await activities.verifyPeriodReceipts(input(s, 1, 'seed', receipts));
  expect(result).toMatchObject({ accepted: 8, payableMs: 7 * INTERVAL, verifiedSeconds: 7 });
  expect(result!.rejected.map((r) => r.seq)).toEqual([8, 9, 10, 11]);
  expect(result!.rejected[0]!.reason).toMatch(/after the assignment ended/);
});

test('an assignment that is not the lease’s fails for good', async () => {
  const s = await scenario();
  const other = await seedLease(fresh.db, customerId);
  await expect(activities.verifyPeriodReceipts({ ...input(s, 1, 'seed', []), leaseId: other })).rejects.toMatchObject({
    nonRetryable: true,
    type: 'AssignmentNotFound',
  });
});
