/**
 * The routine report without a lock (DESIGN §3): a report reads its host's chains in its first
 * statement and stores accepted receipts in one more, only where the chain has not moved since. What
 * moves a chain between the two (a period closed, the assignment ended, another report) must make the
 * write a no-op, receipts included; and a receipt verified twice in one report (unlocked, then under
 * the lock) gets one draw of the challenge sample, not two.
 */
import { acceptReport, verifyAgainst } from '../../../api/host-reports';
import type { ReportPolicy } from '../../../api/host-reports';
import { generateHostKey } from '../../../domain/host-key';
import type { ProofReceipt } from '../../../domain/proof-receipt';
import { closePeriod, endAssignment } from '../../../infra/db/repositories/assignments.repo';
import type { ChainStanding } from '../../../infra/db/repositories/host-reports.repo';
import { advanceUnmovedChain, recordHostReport } from '../../../infra/db/repositories/host-reports.repo';
import type { TestAssignment } from '../../support/assignments';
import { openTestAssignment, reservedGpu, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const INTERVAL = 1_000;
const POLICY: ReportPolicy = { maxClockSkewMs: 5_000, challengeSampleRate: 1, rejectionLimit: 3, unhealthySeconds: 600 };
const key = generateHostKey();

let fresh: FreshDatabase;
let customerId: string;
let providerId: string;
let hostId: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostId = await seedHost(fresh.db, { providerId, publicKey: key.publicKey });
});

afterAll(async () => {
  await fresh?.drop();
});

async function scenario(): Promise<TestAssignment> {
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  const leaseId = await seedLease(fresh.db, customerId);
  const a = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId!, hostId, providerId), { epoch: 1, proofIntervalMs: INTERVAL });
  await fresh.db.updateTable('assignments').set({ started_at: new Date(Date.now() - 60_000) }).where('id', '=', a.assignmentId).execute();
  return a;
}

/** The chain as a report's first statement reads it (no lock). */
async function readStanding(assignmentId: string): Promise<ChainStanding> {
  const live = await recordHostReport(fresh.db, hostId);
  const found = live.find((a) => a.id === assignmentId);
  if (!found) throw new Error(`${assignmentId} is not live`);
  return found.standing;
}

function verified(standing: ChainStanding, receipts: ProofReceipt[]) {
  const result = verifyAgainst(standing, receipts, POLICY, () => true);
  expect(result.rejected).toEqual([]);
  return result.accepted;
}

const storedSeqs = async (assignmentId: string) =>
  (await fresh.db.selectFrom('proof_receipts').select('seq').where('assignment_id', '=', assignmentId).orderBy('seq').execute()).map((r) => r.seq);
const tipOf = async (assignmentId: string) =>
  (await fresh.db.selectFrom('assignments').select(['tip_seq', 'payable_ms']).where('id', '=', assignmentId).executeTakeFirstOrThrow());

describe('advanceUnmovedChain', () => {
  test('stores the receipts and moves the chain when nothing moved it since the read', async () => {
    const a = await scenario();
    const chain = signChain(a, key.secretKey, { count: 3, startAt: Date.now() - 5_000 });
    const standing = await readStanding(a.assignmentId);
    expect(await advanceUnmovedChain(fresh.db, { standing, accepted: verified(standing, chain), rejectedCount: 0 })).toBe(true);
    expect(await storedSeqs(a.assignmentId)).toEqual([0, 1, 2]);
    expect((await tipOf(a.assignmentId)).tip_seq).toBe(2);
  });

  test.each([
    ['another report moved the tip', async (a: TestAssignment) => {
      const [first] = signChain(a, key.secretKey, { count: 1, startAt: Date.now() - 9_000 });
      expect(await acceptReport(fresh.db, hostId, { containers: [], receipts: [first!] }, POLICY)).toMatchObject({ accepted: 1 });
    }],
    ['the period was closed (its challenge moved)', async (a: TestAssignment) => {
      await closePeriod(fresh.db, { leaseId: a.leaseId, period: 1, next: { period: 2, challengeSeed: 'seed-2' } });
    }],
    ['the assignment ended', async (a: TestAssignment) => {
      await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: 'lease_cancelled' });
    }],
  ])('is a no-op, receipts included, when %s after the read', async (_what, moveIt) => {
    const a = await scenario();
    const chain = signChain(a, key.secretKey, { count: 3, startAt: Date.now() - 5_000 });
    const standing = await readStanding(a.assignmentId);
    const accepted = verified(standing, chain);
    await moveIt(a);
    const moved = { seqs: await storedSeqs(a.assignmentId), tip: await tipOf(a.assignmentId) };

    expect(await advanceUnmovedChain(fresh.db, { standing, accepted, rejectedCount: 0 })).toBe(false);
    expect(await storedSeqs(a.assignmentId)).toEqual(moved.seqs);
    expect(await tipOf(a.assignmentId)).toEqual(moved.tip);
  });
});

describe('acceptReport: one draw of the challenge sample per receipt', () => {
  afterEach(() => jest.restoreAllMocks());

  test('a wrong answer found by the unlocked check is not re-drawn under the lock', async () => {
    const a = await scenario();
    const wrong = signChain(a, key.secretKey, {
      count: 1,
      startAt: Date.now() - 2_000,
      tamper: (body) => { body.challenge.answer = '0'.repeat(64); },
    });
    // The first draw samples (0.1 < 0.25); any second draw would not (0.9), and would let it through.
    const draws = [0.1, 0.9, 0.9, 0.9];
    jest.spyOn(Math, 'random').mockImplementation(() => draws.shift() ?? 0.9);
    const answer = await acceptReport(fresh.db, hostId, { containers: [], receipts: wrong }, { ...POLICY, challengeSampleRate: 0.25 });

    expect(answer.accepted).toBe(0);
    expect(answer.rejected.map((r) => r.reason)).toEqual(['seq 0: wrong challenge answer']);
    expect(await storedSeqs(a.assignmentId)).toEqual([]);
    expect(await fresh.db.selectFrom('assignments').select('rejected_streak').where('id', '=', a.assignmentId).executeTakeFirstOrThrow())
      .toEqual({ rejected_streak: 1 });
  });
});
