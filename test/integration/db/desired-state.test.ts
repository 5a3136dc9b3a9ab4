/**
 * What a host is told to run (DESIGN §2.3), against a real PostgreSQL: only its own assignments, with
 * the container, the period's challenge and the chain tip; its version moves on open, end and period
 * close, and only then.
 */
import type { ReportPolicy } from '../../../api/host-reports';
import { acceptReport } from '../../../api/host-reports';
import { generateHostKey } from '../../../domain/host-key';
import { closePeriod, endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { desiredStateOf } from '../../../infra/db/repositories/desired-state.repo';
import { openTestAssignment, reservedGpu, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const POLICY: ReportPolicy = { maxClockSkewMs: 5_000, challengeSampleRate: 1, rejectionLimit: 3, unhealthySeconds: 600 };

let fresh: FreshDatabase;
let customerId: string;
let providerId: string;
let hostB: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostB = await seedHost(fresh.db, { providerId, publicKey: generateHostKey().publicKey });
});

afterAll(async () => {
  await fresh?.drop();
});

const report = (receipts: Parameters<typeof acceptReport>[2]['receipts']) => ({ containers: [], receipts });

describe('desiredStateOf', () => {
  test("shows only the host's own assignments, and its version moves on open, end and period close", async () => {
    const key = generateHostKey();
    const hostId = await seedHost(fresh.db, { providerId, publicKey: key.publicKey });
    const initial = (await desiredStateOf(fresh.db, hostId))!;
    expect(initial.assignments).toEqual([]);

    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const leaseId = await seedLease(fresh.db, customerId);
    const mine = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId!, hostId, providerId), {
      rank: 1, epoch: 4, period: 1, challengeSeed: 'seed-1', proofIntervalMs: 2_000,
      container: { image: 'img:1', command: ['sleep', '60'], env: { A: 'b' }, worldSize: 2, headHost: 'head-host' },
    });
    // Another host's assignment of the same lease.
    const [otherGpu] = await seedGpus(fresh.db, { hostId: hostB });
    const theirs = await openTestAssignment(fresh.db, leaseId, reservedGpu(otherGpu!, hostB, providerId));
    const versionOfB = (await desiredStateOf(fresh.db, hostB))!.version;

    const opened = (await desiredStateOf(fresh.db, hostId))!;
    expect(opened.version).toBe(initial.version + 1);
    expect(opened.assignments).toEqual([{
      assignmentId: mine.assignmentId,
      leaseId,
      epoch: 4,
      gpuId: gpuId!,
      rank: 1,
      worldSize: 2,
      headHost: 'head-host',
      image: 'img:1',
      command: ['sleep', '60'],
      env: { A: 'b' },
      state: 'run',
      proofIntervalMs: 2_000,
      period: 1,
      challengeSeed: 'seed-1',
      chainTip: null,
    }]);
    expect((await desiredStateOf(fresh.db, hostB))!.assignments.map((x) => x.assignmentId)).toContain(theirs.assignmentId);

    // Accepted receipts show as the chain tip (a restarted agent continues from it); no version bump.
    await fresh.db.updateTable('assignments').set({ started_at: new Date(Date.now() - 60_000) }).where('id', '=', mine.assignmentId).execute();
    const receipts = signChain(mine, key.secretKey, { count: 2, startAt: Date.now() - 5_000, intervalMs: 2_000 });
    await acceptReport(fresh.db, hostId, report(receipts), POLICY);
    const reported = (await desiredStateOf(fresh.db, hostId))!;
    expect(reported.version).toBe(opened.version);
    expect(reported.assignments[0]!.chainTip).toEqual({ seq: 1, hash: receipts[1]!.hash, at: receipts[1]!.body.at });

    await closePeriod(fresh.db, { leaseId, period: 1, next: { period: 2, challengeSeed: 'seed-2' } });
    const closed = (await desiredStateOf(fresh.db, hostId))!;
    expect(closed.version).toBe(opened.version + 1);
    expect(closed.assignments[0]).toMatchObject({ period: 2, challengeSeed: 'seed-2', state: 'run' });

    await endAssignment(fresh.db, { assignmentId: mine.assignmentId, endReason: 'lease_completed' });
    await endAssignment(fresh.db, { assignmentId: mine.assignmentId, endReason: 'lease_completed' });
    const ended = (await desiredStateOf(fresh.db, hostId))!;
    // Once: a repeated end changes nothing.
    expect(ended.version).toBe(closed.version + 1);
    expect(ended.assignments.map((x) => [x.assignmentId, x.state])).toEqual([[mine.assignmentId, 'stop']]);

    // B's version moved for the period close of its live assignment, never for A's open or end.
    expect((await desiredStateOf(fresh.db, hostB))!.version).toBe(versionOfB + 1);
    expect(await desiredStateOf(fresh.db, 'no-such-host')).toBeUndefined();
  });
});
