/** The lease read model the workflow writes: only the fields given, idempotent, and the one-live-assignment-per-GPU backstop. */
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../../activities/control';
import type { ControlActivities } from '../../../activities/contracts';
import type { ReservedGpu } from '../../../domain/lease';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

let fresh: FreshDatabase;
let activities: ControlActivities;
let customerId: string;
let providerId: string;
let hostId: string;
let gpu: ReservedGpu;

beforeAll(async () => {
  fresh = await freshDatabase();
  activities = createControlActivities({ db: fresh.db });
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
  hostId = await seedHost(fresh.db, { providerId });
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  gpu = { gpuId: gpuId!, hostId, providerId, tier: 1, model: 'H100', pricePerGpuHour: '2000000' };
});

afterAll(async () => {
  await fresh?.drop();
});

const leaseRow = (leaseId: string) => fresh.db.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirstOrThrow();

describe('recordLeaseStatus', () => {
  test('writes only the fields a change names, and a repeat changes nothing', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const startedAt = Date.UTC(2026, 10, 25, 12, 0, 0);
    const endsAt = startedAt + 3_600_000;
    await activities.recordLeaseStatus({ leaseId, status: 'running', startedAt, endsAt });
    await activities.recordLeaseStatus({ leaseId, status: 'failing_over', failoverCount: 1 });
    await activities.recordLeaseStatus({ leaseId, status: 'failing_over', failoverCount: 1 });
    let row = await leaseRow(leaseId);
    expect(row).toMatchObject({ status: 'failing_over', failover_count: 1, end_reason: null, ended_at: null });
    expect(row.started_at?.getTime()).toBe(startedAt);
    expect(row.ends_at?.getTime()).toBe(endsAt);

    await activities.recordLeaseStatus({ leaseId, status: 'completed', endReason: 'duration reached', endedAt: endsAt });
    row = await leaseRow(leaseId);
    expect(row).toMatchObject({ status: 'completed', end_reason: 'duration reached', failover_count: 1 });
    expect(row.ended_at?.getTime()).toBe(endsAt);
    expect(row.started_at?.getTime()).toBe(startedAt);
  });

  test('a lease without a record fails for good', async () => {
    await expect(activities.recordLeaseStatus({ leaseId: 'no-such-lease', status: 'running' })).rejects.toMatchObject({
      nonRetryable: true,
      type: 'LeaseNotFound',
    });
  });
});

describe('assignments', () => {
  const open = (leaseId: string, assignmentId: string, epoch = 0) =>
    activities.openAssignment({ assignmentId, leaseId, gpu, rank: 0, epoch, startedAt: Date.now() });
  const assignment = (assignmentId: string) => fresh.db.selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();

  test('open is idempotent, a second live assignment of the GPU is refused, close keeps its first end', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const first = `asg-${randomUUID()}`;
    await open(leaseId, first);
    await open(leaseId, first);
    expect(await assignment(first)).toMatchObject({
      lease_id: leaseId,
      gpu_id: gpu.gpuId,
      host_id: hostId,
      provider_id: providerId,
      tier: 1,
      price_per_gpu_hour: '2000000',
      rank: 0,
      epoch: 0,
      ended_at: null,
      verified_seconds: 0,
    });

    const otherLease = await seedLease(fresh.db, customerId);
    const second = `asg-${randomUUID()}`;
    await expect(open(otherLease, second)).rejects.toMatchObject({ nonRetryable: true, type: 'GpuAlreadyAssigned' });
    expect(await fresh.db.selectFrom('assignments').select('id').where('id', '=', second).executeTakeFirst()).toBeUndefined();

    const endedAt = Date.now();
    await activities.closeAssignment({ assignmentId: first, endedAt, endReason: 'host_lost' });
    await activities.closeAssignment({ assignmentId: first, endedAt: endedAt + 5_000, endReason: 'lease_completed' });
    const closed = await assignment(first);
    expect(closed.ended_at?.getTime()).toBe(endedAt);
    expect(closed.end_reason).toBe('host_lost');

    // Once the first is closed the GPU can carry a new assignment (a new epoch, another lease).
    await open(otherLease, second, 1);
    expect((await assignment(second)).ended_at).toBeNull();
    await activities.closeAssignment({ assignmentId: second, endedAt: Date.now(), endReason: 'lease_completed' });
  });
});

describe('markHostLost', () => {
  test('takes an online host out of placement until a heartbeat brings it back', async () => {
    const lostProvider = await seedProvider(fresh.db, 1);
    const host = await seedHost(fresh.db, { providerId: lostProvider });
    await seedGpus(fresh.db, { hostId: host, model: 'L4' });
    const reserve = async () =>
      activities.reserveGpus({
        reservationId: randomUUID(),
        leaseId: await seedLease(fresh.db, customerId),
        gpuModel: 'L4',
        count: 1,
        minTier: 3,
        maxPricePerGpuHour: '9000000',
        excludeProviderIds: [],
        heartbeatTimeoutSeconds: 30,
      });

    await activities.markHostLost({ hostId: host });
    await activities.markHostLost({ hostId: host });
    const status = async (id: string) => (await fresh.db.selectFrom('hosts').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    expect(await status(host)).toBe('lost');
    expect(await reserve()).toMatchObject({ ok: false, available: 0 });

    // What the API's heartbeat does.
    await fresh.db.updateTable('hosts').set({ status: 'online', last_heartbeat_at: new Date() }).where('id', '=', host).execute();
    expect(await reserve()).toMatchObject({ ok: true });

    // A host that signed off stays offline rather than being reported lost.
    const offline = await seedHost(fresh.db, { providerId: lostProvider, status: 'offline' });
    await activities.markHostLost({ hostId: offline });
    expect(await status(offline)).toBe('offline');
  });
});
