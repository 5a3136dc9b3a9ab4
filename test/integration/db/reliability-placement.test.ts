/**
 * Placement uses evidence (issue 9, item 6) against a real PostgreSQL: a provider's record is made the
 * way the engine makes it (receipts through acceptReport, assignments ended by the repository, host
 * events as the fleet monitor records them), the evidence queries read it back within the window, and
 * reserveGpus takes GPUs price first, then reliability: a flaky provider at the same price is chosen last.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReportPolicy } from '../../../api/host-reports';
import { acceptReport } from '../../../api/host-reports';
import type { ReserveGpusInput } from '../../../activities/contracts';
import type { ControlActivities } from '../../../activities/contracts';
import { createControlActivities } from '../../../activities/control';
import { generateHostKey } from '../../../domain/host-key';
import { NO_EVIDENCE, reliabilityOf } from '../../../domain/reliability';
import { endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { recordHostEvent } from '../../../infra/db/repositories/host-events.repo';
import { reliabilityEvidenceOf } from '../../../infra/db/repositories/reliability.repo';
import { openTestAssignment, reservedGpu, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedHost, seedLease } from '../../support/seed';

const POLICY: ReportPolicy = { maxClockSkewMs: 5_000, challengeSampleRate: 1, rejectionLimit: 3, unhealthySeconds: 600 };
const PRICE = 2_000_000n;
const DAY_MS = 86_400_000;

// Ids chosen so that every tie-break but reliability (GPU id, provider id) would pick the flaky provider first.
const FLAKY = 'prv-a-flaky';
const NEW = 'prv-b-new';
const STEADY = 'prv-c-steady';

let fresh: FreshDatabase;
let activities: ControlActivities;
let customerId: string;
const hostOf = new Map<string, string>();

async function seedNamedProvider(id: string): Promise<void> {
  await fresh.db.insertInto('providers').values({ id, name: id, tier: 1, api_key_hash: `hash-${id}` }).execute();
}

async function seedNamedGpus(hostId: string, prefix: string, count: number, price = PRICE): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await fresh.db
    .insertInto('gpus')
    .values(ids.map((id) => ({ id, host_id: hostId, model: 'H100', vram_gb: 80, tier: 1, price_per_gpu_hour: price, status: 'free' as const })))
    .execute();
  return ids;
}

/** An assignment of a lease on a GPU of the provider's host that is not offered (offline), so placement never sees it. */
async function pastAssignment(providerId: string, name: string) {
  const hostId = hostOf.get(providerId)!;
  const [gpuId] = await seedNamedGpus(hostId, `gpu-past-${name}`, 1);
  await fresh.db.updateTable('gpus').set({ status: 'offline' }).where('id', '=', gpuId!).execute();
  const leaseId = await seedLease(fresh.db, customerId);
  const a = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId!, hostId, providerId), { epoch: 1, proofIntervalMs: 1_000 });
  await fresh.db.updateTable('assignments').set({ started_at: new Date(Date.now() - 60_000) }).where('id', '=', a.assignmentId).execute();
  return a;
}

function request(leaseId: string, count: number, overrides: Partial<ReserveGpusInput> = {}): ReserveGpusInput {
  return {
    reservationId: `res-${leaseId}`,
    leaseId,
    gpuModel: 'H100',
    count,
    minTier: 1,
    maxPricePerGpuHour: PRICE.toString(),
    excludeProviderIds: [],
    heartbeatTimeoutSeconds: 30,
    ...overrides,
  };
}

async function reserve(count: number, overrides: Partial<ReserveGpusInput> = {}) {
  const result = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), count, overrides));
  if (!result.ok) throw new Error(result.reason);
  return result.gpus;
}

const releaseAll = () =>
  fresh.db.updateTable('gpus').set({ status: 'free', lease_id: null, reservation_id: null }).where('status', '=', 'reserved').execute();

beforeAll(async () => {
  fresh = await freshDatabase();
  activities = createControlActivities({ db: fresh.db });
  customerId = await seedCustomer(fresh.db);
  const flakyKey = generateHostKey();
  for (const id of [FLAKY, NEW, STEADY]) {
    await seedNamedProvider(id);
    hostOf.set(id, await seedHost(fresh.db, { providerId: id, publicKey: id === FLAKY ? flakyKey.publicKey : undefined }));
  }

  // The flaky provider's record: receipts with a gap and a forged one, then its host lost mid-lease.
  const flaky = await pastAssignment(FLAKY, 'flaky');
  const chain = signChain(flaky, flakyKey.secretKey, { count: 3, startAt: Date.now() - 30_000, intervalMs: 1_000 });
  expect(await acceptReport(fresh.db, flaky.hostId, { containers: [], receipts: chain.slice(0, 1) }, POLICY)).toMatchObject({ accepted: 1 });
  await sleep(2_000);
  // Seq 1 comes 10 intervals after seq 0 (a gap: nothing paid); seq 2 is signed over a tampered body.
  const [gapped] = signChain(flaky, flakyKey.secretKey, { count: 1, startAt: Date.now() - 5_000, prev: chain[0] });
  const [forged] = signChain(flaky, flakyKey.secretKey, {
    count: 1, startAt: Date.now() - 4_000, prev: gapped, tamper: (body) => { body.challenge.answer = 'not the answer'; },
  });
  expect(await acceptReport(fresh.db, flaky.hostId, { containers: [], receipts: [gapped!, forged!] }, POLICY)).toMatchObject({ accepted: 1 });
  await recordHostEvent(fresh.db, { hostId: flaky.hostId, kind: 'lost', detail: 'no report for more than 4 s' });
  await endAssignment(fresh.db, { assignmentId: flaky.assignmentId, endReason: 'host_lost' });

  // The steady provider completed a lease; its bad days are older than the evidence window.
  const steady = await pastAssignment(STEADY, 'steady');
  await endAssignment(fresh.db, { assignmentId: steady.assignmentId, endReason: 'lease_completed' });
  const old = await pastAssignment(STEADY, 'steady-old');
  await endAssignment(fresh.db, { assignmentId: old.assignmentId, endReason: 'host_lost', endedAt: Date.now() - 40 * DAY_MS });
  await recordHostEvent(fresh.db, { hostId: old.hostId, kind: 'no_proof', detail: 'long ago' });
  await fresh.db.updateTable('host_events').set({ at: new Date(Date.now() - 40 * DAY_MS) }).where('detail', '=', 'long ago').execute();
  // A start the host refused may be the customer's image: not held against it.
  await recordHostEvent(fresh.db, { hostId: old.hostId, kind: 'start_failed', detail: 'image not found' });

  // What placement chooses from: two GPUs per provider, all at the same price and tier.
  for (const id of [FLAKY, NEW, STEADY]) await seedNamedGpus(hostOf.get(id)!, `gpu-${id}`, 2);
});

afterAll(async () => {
  await fresh?.drop();
});

describe('reliability evidence', () => {
  test('is read from the engine’s own records, within the window', async () => {
    const evidence = await reliabilityEvidenceOf(fresh.db, [FLAKY, NEW, STEADY]);
    const flaky = evidence.get(FLAKY)!;
    expect(flaky).toMatchObject({ leasesCompleted: 0, failoversCaused: 1, unhealthyMarks: 1, receiptsAccepted: 2, receiptsRejected: 1, provenSeconds: 0 });
    // Watched from the first report's arrival to the second's, none of it proven: a receipt gap.
    expect(flaky.watchedSeconds).toBeGreaterThanOrEqual(1.9);
    expect(flaky.watchedSeconds).toBeLessThan(10);
    expect(evidence.get(STEADY)).toEqual({ ...NO_EVIDENCE, leasesCompleted: 1 });
    expect(evidence.get(NEW)).toEqual(NO_EVIDENCE);

    const score = (id: string) => reliabilityOf(evidence.get(id)!).score;
    expect(score(STEADY)).toBe(0.8);
    expect(score(NEW)).toBe(0.75);
    expect(score(FLAKY)).toBeLessThan(0.6);
  });

  test('an unknown provider has no evidence, and no providers need no query', async () => {
    expect(await reliabilityEvidenceOf(fresh.db, ['prv-nobody'])).toEqual(new Map([['prv-nobody', NO_EVIDENCE]]));
    expect(await reliabilityEvidenceOf(fresh.db, [])).toEqual(new Map());
  });
});

describe('placement: price first, then reliability', () => {
  afterEach(releaseAll);

  test('of two providers at the same price, the flaky one is chosen last', async () => {
    const [one] = await reserve(1);
    expect(one!.providerId).toBe(STEADY);
    await releaseAll();

    const all = await reserve(6);
    expect(all.map((gpu) => gpu.providerId)).toEqual([STEADY, STEADY, NEW, NEW, FLAKY, FLAKY]);
  });

  test('a retried reservation hands back the same GPUs in the same order', async () => {
    const input = request(await seedLease(fresh.db, customerId), 4);
    const first = await activities.reserveGpus(input);
    expect(await activities.reserveGpus(input)).toEqual(first);
  });

  test('the flaky provider still serves when it is the only one left', async () => {
    const gpus = await reserve(2, { excludeProviderIds: [STEADY, NEW] });
    expect(gpus.map((gpu) => gpu.providerId)).toEqual([FLAKY, FLAKY]);
  });

  test('a cheaper GPU wins over a more reliable provider: reliability only breaks ties of price', async () => {
    const [cheap] = await seedNamedGpus(hostOf.get(FLAKY)!, 'gpu-z-cheap', 1, PRICE - 100_000n);
    try {
      const gpus = await reserve(2);
      expect(gpus.map((gpu) => [gpu.providerId, gpu.pricePerGpuHour])).toEqual([
        [FLAKY, (PRICE - 100_000n).toString()],
        [STEADY, PRICE.toString()],
      ]);
      expect(gpus[0]!.gpuId).toBe(cheap);
    } finally {
      await fresh.db.deleteFrom('gpus').where('id', '=', cheap!).execute();
    }
  });
});
