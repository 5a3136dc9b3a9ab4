/**
 * reserveGpus against a real PostgreSQL: concurrent leases race for a small fleet and the rules of
 * DESIGN §2.1 hold (all or none, never a GPU twice, tier and price respected, lost, stale and unhealthy
 * hosts and excluded providers skipped, idempotent on the reservation id).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { ReserveGpusInput } from '../../../activities/contracts';
import { createControlActivities } from '../../../activities/control';
import type { ControlActivities } from '../../../activities/contracts';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { openingOf } from '../../support/assignments';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const CAP = 2_500_000n; // 2.5 tokens per GPU-hour

let fresh: FreshDatabase;
let activities: ControlActivities;
let customerId: string;
let excludedProvider: string;
/** The 10 GPUs a tier-2 lease under the cap may get; everything else seeded below is a trap. */
let eligible: Set<string>;
let tierOf: Map<string, number>;

beforeAll(async () => {
  fresh = await freshDatabase({ max: 25 });
  const { db } = fresh;
  activities = createControlActivities({ db });
  customerId = await seedCustomer(db);

  const tier1 = await seedProvider(db, 1);
  const tier2 = await seedProvider(db, 2);
  const tier3 = await seedProvider(db, 3);
  excludedProvider = await seedProvider(db, 1);

  const t1Host = await seedHost(db, { providerId: tier1, tier: 1 });
  const t2Host = await seedHost(db, { providerId: tier2, tier: 2 });
  const t3Host = await seedHost(db, { providerId: tier3, tier: 3 });
  const staleHost = await seedHost(db, { providerId: tier1, tier: 1, heartbeatAgeSeconds: 120 });
  const silentHost = await seedHost(db, { providerId: tier1, tier: 1, heartbeatAgeSeconds: null });
  const lostHost = await seedHost(db, { providerId: tier1, tier: 1, status: 'lost' });
  const excludedHost = await seedHost(db, { providerId: excludedProvider, tier: 1 });

  const good = [
    ...(await seedGpus(db, { hostId: t1Host, tier: 1, price: 2_400_000n, count: 4 })),
    ...(await seedGpus(db, { hostId: t2Host, tier: 2, price: 2_000_000n, count: 4 })),
    ...(await seedGpus(db, { hostId: t2Host, tier: 2, price: CAP, count: 2 })),
  ];
  // Traps, all cheaper than the good ones so that a broken filter would pick them first.
  const cheap = 1_000_000n;
  const traps = {
    tier3: await seedGpus(db, { hostId: t3Host, tier: 3, price: cheap, count: 4 }),
    overCap: await seedGpus(db, { hostId: t1Host, tier: 1, price: CAP + 1n, count: 2 }),
    stale: await seedGpus(db, { hostId: staleHost, tier: 1, price: cheap, count: 2 }),
    silent: await seedGpus(db, { hostId: silentHost, tier: 1, price: cheap, count: 1 }),
    lost: await seedGpus(db, { hostId: lostHost, tier: 1, price: cheap, count: 2 }),
    excluded: await seedGpus(db, { hostId: excludedHost, tier: 1, price: cheap, count: 3 }),
    otherModel: await seedGpus(db, { hostId: t1Host, tier: 1, price: cheap, count: 2, model: 'A100' }),
    offline: await seedGpus(db, { hostId: t1Host, tier: 1, price: cheap, count: 1, status: 'offline' }),
  };
  eligible = new Set(good);
  const rows = await db.selectFrom('gpus').select(['id', 'tier']).execute();
  tierOf = new Map(rows.map((row) => [row.id, row.tier]));
  expect(Object.values(traps).flat()).toHaveLength(17);
});

afterAll(async () => {
  await fresh?.drop();
});

function request(leaseId: string, count: number, overrides: Partial<ReserveGpusInput> = {}): ReserveGpusInput {
  return {
    reservationId: `res-${randomUUID()}`,
    leaseId,
    gpuModel: 'H100',
    count,
    minTier: 2,
    maxPricePerGpuHour: CAP.toString(),
    excludeProviderIds: [excludedProvider],
    heartbeatTimeoutSeconds: 10,
    ...overrides,
  };
}

async function reservedRows() {
  return fresh.db.selectFrom('gpus').select(['id', 'lease_id', 'reservation_id']).where('status', '=', 'reserved').execute();
}

async function releaseAll(): Promise<void> {
  await fresh.db.updateTable('gpus').set({ status: 'free', lease_id: null, reservation_id: null }).where('status', '=', 'reserved').execute();
}

describe('reserveGpus under contention', () => {
  afterEach(releaseAll);

  test.each([1, 2, 3])('round %i: 20 leases racing for 10 GPUs never share one and get all or none', async () => {
    const leases = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const count = randomInt(1, 4);
        const leaseId = await seedLease(fresh.db, customerId, { gpuCount: count });
        return request(leaseId, count);
      }),
    );
    const results = await Promise.all(leases.map((input) => activities.reserveGpus(input)));

    const taken: string[] = [];
    results.forEach((result, index) => {
      const input = leases[index]!;
      if (result.ok) {
        expect(result.gpus).toHaveLength(input.count);
        for (const gpu of result.gpus) {
          expect(eligible.has(gpu.gpuId)).toBe(true);
          expect(gpu.tier).toBeLessThanOrEqual(2);
          expect(BigInt(gpu.pricePerGpuHour)).toBeLessThanOrEqual(CAP);
          expect(gpu.providerId).not.toBe(excludedProvider);
        }
        taken.push(...result.gpus.map((gpu) => gpu.gpuId));
      } else {
        expect(result.available).toBeLessThan(input.count);
        expect(result.reason).toContain(`needs ${input.count} free H100 GPUs of tier 2 or better at ≤ 2.5 per GPU-hour`);
      }
    });
    expect(new Set(taken).size).toBe(taken.length);
    expect(taken.length).toBeLessThanOrEqual(10);
    expect(results.some((result) => result.ok)).toBe(true);

    // The database agrees: exactly the GPUs handed out are reserved, each to the lease that got it.
    const rows = await reservedRows();
    expect(rows.map((row) => row.id).sort()).toEqual([...taken].sort());
    for (const [index, result] of results.entries()) {
      const held = rows.filter((row) => row.lease_id === leases[index]!.leaseId);
      expect(held).toHaveLength(result.ok ? leases[index]!.count : 0);
    }

    // Retries (a lost reply) give each winner the very same GPUs, and losers still nothing extra.
    const retried = await Promise.all(leases.map((input, index) => (results[index]!.ok ? activities.reserveGpus(input) : null)));
    retried.forEach((again, index) => {
      const first = results[index]!;
      if (again === null || !first.ok) return;
      expect(again).toEqual(first);
    });
    expect((await reservedRows()).length).toBe(taken.length);

    // Nothing leaked: whatever was not handed out can still be reserved in one go.
    const leftover = 10 - taken.length;
    if (leftover > 0) {
      const rest = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), leftover));
      expect(rest.ok).toBe(true);
    }
  });
});

describe('reserveGpus rules', () => {
  afterEach(releaseAll);

  test('cheapest acceptable GPUs first, never a worse tier than asked', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const result = await activities.reserveGpus(request(leaseId, 4));
    if (!result.ok) throw new Error(result.reason);
    expect(result.gpus.map((gpu) => gpu.pricePerGpuHour)).toEqual(['2000000', '2000000', '2000000', '2000000']);

    const tier1Only = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), 4, { minTier: 1 }));
    if (!tier1Only.ok) throw new Error(tier1Only.reason);
    expect(tier1Only.gpus.every((gpu) => gpu.tier === 1 && tierOf.get(gpu.gpuId) === 1)).toBe(true);
  });

  test('not enough capacity: nothing is reserved and the reason says what was missing', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const result = await activities.reserveGpus(request(leaseId, 5, { minTier: 1 }));
    expect(result).toEqual({
      ok: false,
      available: 4,
      reason: `needs 5 free H100 GPUs of tier 1 or better at ≤ 2.5 per GPU-hour on healthy online hosts outside providers ${excludedProvider}; 4 available`,
    });
    expect(await reservedRows()).toEqual([]);
  });

  test('an excluded provider is never used, even when it is the only one left', async () => {
    const withExcluded = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), 3, { excludeProviderIds: [], minTier: 1, maxPricePerGpuHour: '1000000' }));
    if (!withExcluded.ok) throw new Error(withExcluded.reason);
    await releaseAll();
    const without = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), 1, { minTier: 1, maxPricePerGpuHour: '1000000' }));
    expect(without.ok).toBe(false);
  });

  test('a stale host becomes eligible again once it heartbeats', async () => {
    const stale = await fresh.db.selectFrom('hosts').select('id').where('last_heartbeat_at', '<', new Date(Date.now() - 60_000)).executeTakeFirstOrThrow();
    const cheapTier1 = (leaseId: string) => request(leaseId, 2, { minTier: 1, maxPricePerGpuHour: '1000000' });
    expect((await activities.reserveGpus(cheapTier1(await seedLease(fresh.db, customerId)))).ok).toBe(false);
    await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date() }).where('id', '=', stale.id).execute();
    try {
      const result = await activities.reserveGpus(cheapTier1(await seedLease(fresh.db, customerId)));
      if (!result.ok) throw new Error(result.reason);
      expect(result.gpus.every((gpu) => gpu.hostId === stale.id)).toBe(true);
    } finally {
      await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - 120_000) }).where('id', '=', stale.id).execute();
    }
  });

  test('an unhealthy host is not offered until its cool-down has passed', async () => {
    const stale = await fresh.db.selectFrom('hosts').select('id').where('last_heartbeat_at', '<', new Date(Date.now() - 60_000)).executeTakeFirstOrThrow();
    const cheapTier1 = async () => activities.reserveGpus(request(await seedLease(fresh.db, customerId), 2, { minTier: 1, maxPricePerGpuHour: '1000000' }));
    const setHost = (values: { last_heartbeat_at?: Date; unhealthy_until?: Date | null }) =>
      fresh.db.updateTable('hosts').set(values).where('id', '=', stale.id).execute();
    // The stale host reports again (online, fresh heartbeat) but sits out a cool-down.
    await setHost({ last_heartbeat_at: new Date(), unhealthy_until: new Date(Date.now() + 60_000) });
    try {
      const refused = await cheapTier1();
      expect(refused).toMatchObject({ ok: false, available: 0 });
      expect(!refused.ok && refused.reason).toContain('on healthy online hosts');

      await setHost({ unhealthy_until: new Date(Date.now() - 1_000) });
      const result = await cheapTier1();
      if (!result.ok) throw new Error(result.reason);
      expect(result.gpus.every((gpu) => gpu.hostId === stale.id)).toBe(true);
    } finally {
      await setHost({ last_heartbeat_at: new Date(Date.now() - 120_000), unhealthy_until: null });
    }
  });

  test('a GPU whose previous assignment is still open is not handed out', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const first = await activities.reserveGpus(request(leaseId, 1));
    if (!first.ok) throw new Error(first.reason);
    const [gpu] = first.gpus;
    await activities.openAssignments(openingOf(leaseId, gpu!));
    // Released before its assignment was closed (e.g. a failover that released first).
    await activities.releaseGpus({ leaseId, gpuIds: [gpu!.gpuId] });
    const all = await activities.reserveGpus(request(await seedLease(fresh.db, customerId), 10));
    expect(all).toMatchObject({ ok: false, available: 9 });
    await fresh.db.updateTable('assignments').set({ ended_at: new Date(), end_reason: 'lease_completed' }).where('gpu_id', '=', gpu!.gpuId).execute();
    expect((await activities.reserveGpus(request(await seedLease(fresh.db, customerId), 10))).ok).toBe(true);
  });

  test('a malformed request fails for good instead of being retried', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    await expect(activities.reserveGpus(request(leaseId, 0))).rejects.toMatchObject({ nonRetryable: true, type: 'InvalidReservation' });
    await expect(activities.reserveGpus(request(leaseId, 1, { maxPricePerGpuHour: '2.5' }))).rejects.toMatchObject({ nonRetryable: true });
  });
});

describe('releaseGpus', () => {
  afterEach(releaseAll);

  test('frees only the GPUs still held by that lease, and repeating it is harmless', async () => {
    const leaseA = await seedLease(fresh.db, customerId);
    const leaseB = await seedLease(fresh.db, customerId);
    const a = await activities.reserveGpus(request(leaseA, 2));
    const b = await activities.reserveGpus(request(leaseB, 2));
    if (!a.ok || !b.ok) throw new Error('setup reservation failed');
    const all = [...a.gpus, ...b.gpus].map((gpu) => gpu.gpuId);

    await activities.releaseGpus({ leaseId: leaseA, gpuIds: all });
    await activities.releaseGpus({ leaseId: leaseA, gpuIds: all });
    const rows = await reservedRows();
    expect(rows.map((row) => row.id).sort()).toEqual(b.gpus.map((gpu) => gpu.gpuId).sort());
    expect(rows.every((row) => row.lease_id === leaseB)).toBe(true);

    const freed = await fresh.db.selectFrom('gpus').selectAll().where('id', 'in', a.gpus.map((gpu) => gpu.gpuId)).execute();
    expect(freed.every((gpu) => gpu.status === 'free' && gpu.lease_id === null && gpu.reservation_id === null)).toBe(true);
    await activities.releaseGpus({ leaseId: leaseA, gpuIds: [] });
  });
});
