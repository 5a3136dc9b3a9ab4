/**
 * The lease read model and the assignments the workflow writes: only the fields given, idempotent, the
 * one-live-assignment-per-GPU backstop, the dispatch's wait on the hosts' reports, host faults.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createControlActivities } from '../../../activities/control';
import type { AwaitRunningInput, AwaitRunningResult, ControlActivities } from '../../../activities/contracts';
import { acceptReport } from '../../../api/host-reports';
import { recordApiAlive } from '../../../infra/db/repositories/api-liveness.repo';
import type { ReservedGpu } from '../../../domain/lease';
import { hostEventsOf } from '../../../infra/db/repositories/host-events.repo';
import { openTestAssignment, openingOf } from '../../support/assignments';
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
  const open = (leaseId: string, assignmentId: string, epoch = 0, on: ReservedGpu = gpu) =>
    activities.openAssignments(openingOf(leaseId, on, { assignmentId, epoch }));
  const assignment = (assignmentId: string) => fresh.db.selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();
  /** Runs the activity as a worker would: it heartbeats and sleeps through its activity context. */
  const awaitRunning = (input: AwaitRunningInput) =>
    new MockActivityEnvironment().run(activities.awaitContainersRunning, input) as Promise<AwaitRunningResult>;
  const exists = async (assignmentId: string) =>
    (await fresh.db.selectFrom('assignments').select('id').where('id', '=', assignmentId).executeTakeFirst()) !== undefined;

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
      desired_state: 'run',
      container: { image: 'lease-engine/busybox:local', worldSize: 1, headHost: hostId },
    });

    const otherLease = await seedLease(fresh.db, customerId);
    const second = `asg-${randomUUID()}`;
    await expect(open(otherLease, second)).rejects.toMatchObject({ nonRetryable: true, type: 'GpuAlreadyAssigned' });
    expect(await exists(second)).toBe(false);

    const endedAt = Date.now();
    await activities.closeAssignment({ assignmentId: first, endedAt, endReason: 'host_lost' });
    await activities.closeAssignment({ assignmentId: first, endedAt: endedAt + 5_000, endReason: 'lease_completed' });
    const closed = await assignment(first);
    expect(closed.ended_at?.getTime()).toBe(endedAt);
    expect(closed).toMatchObject({ end_reason: 'host_lost', desired_state: 'stop' });

    // Once the first is closed the GPU can carry a new assignment (a new epoch, another lease).
    await open(otherLease, second, 1);
    expect((await assignment(second)).ended_at).toBeNull();
    await activities.closeAssignment({ assignmentId: second, endedAt: Date.now(), endReason: 'lease_completed' });
  });

  test('a dispatch opens all of its assignments or none', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const [freeGpu] = await seedGpus(fresh.db, { hostId });
    const busy = `asg-${randomUUID()}`;
    await open(leaseId, busy);
    const fresh1 = `asg-${randomUUID()}`;
    const fresh2 = `asg-${randomUUID()}`;
    const opening = openingOf(leaseId, { ...gpu, gpuId: freeGpu! }, { assignmentId: fresh1 });
    opening.assignments.push({ ...openingOf(leaseId, gpu, { assignmentId: fresh2, rank: 1 }).assignments[0]! });
    await expect(activities.openAssignments(opening)).rejects.toMatchObject({ type: 'GpuAlreadyAssigned' });
    expect(await exists(fresh1)).toBe(false);
    expect(await exists(fresh2)).toBe(false);
    await activities.closeAssignment({ assignmentId: busy, endReason: 'lease_completed' });
  });

  test('given the heartbeat timeout, a dispatch waits a whole timeout more while no API has heard the hosts, and no more once one has', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const silent = `asg-${randomUUID()}`;
    await open(leaseId, silent, 0, { ...gpu, gpuId: gpuId! });
    const timedOut = [{ assignmentId: silent, hostId, timedOut: true, reason: `host ${hostId} did not report the container running in time` }];

    // No API up: the host's silence says nothing of it yet.
    await fresh.db.deleteFrom('api_liveness').execute();
    let started = Date.now();
    let result = await awaitRunning({ assignmentIds: [silent], deadline: started + 300, heartbeatTimeoutSeconds: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_300);
    expect(result.notRunning).toEqual(timedOut);

    // An API up for minutes, a fleet heard on time: the deadline is the deadline.
    await recordApiAlive(fresh.db, 'lease-records-test', new Date(Date.now() - 600_000));
    await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date() }).execute();
    started = Date.now();
    result = await awaitRunning({ assignmentIds: [silent], deadline: started + 300, heartbeatTimeoutSeconds: 2 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(result.notRunning).toEqual(timedOut);
    await fresh.db.deleteFrom('api_liveness').execute();
    await activities.closeAssignment({ assignmentId: silent, endReason: 'start_failed' });
  });

  test('awaitContainersRunning answers with what the hosts reported, and who stayed silent past the deadline', async () => {
    const leaseId = await seedLease(fresh.db, customerId);
    const gpuIds = await seedGpus(fresh.db, { hostId, count: 3 });
    const ids = gpuIds.map(() => `asg-${randomUUID()}`);
    for (const [i, id] of ids.entries()) await open(leaseId, id, 0, { ...gpu, gpuId: gpuIds[i]! });
    const [runs, refused, silent] = ids as [string, string, string];
    const container = (assignmentId: string, state: 'running' | 'missing', detail?: string) =>
      ({ assignmentId, epoch: 0, state, ...(detail ? { detail } : {}) });

    const waiting = awaitRunning({ assignmentIds: ids, deadline: Date.now() + 1_500 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await acceptReport(fresh.db, hostId, { containers: [container(runs, 'running'), container(refused, 'missing', 'image x is not present')], receipts: [] });
    const started = Date.now();
    const result = await waiting;
    // It waited for the silent one until the deadline, not longer than a poll after it.
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(result.running).toEqual([{ assignmentId: runs, runningAt: (await assignment(runs)).running_at!.getTime() }]);
    expect(result.notRunning).toEqual([
      { assignmentId: refused, hostId, timedOut: false, reason: `host ${hostId} reported the container missing: image x is not present` },
      { assignmentId: silent, hostId, timedOut: true, reason: `host ${hostId} did not report the container running in time` },
    ]);

    // Once every container answered it returns at once, whatever the deadline.
    const quick = Date.now();
    const done = await awaitRunning({ assignmentIds: [runs, refused], deadline: Date.now() + 60_000 });
    expect(Date.now() - quick).toBeLessThan(5_000);
    expect(done.running.map((r) => r.assignmentId)).toEqual([runs]);
    expect(done.notRunning.map((r) => r.assignmentId)).toEqual([refused]);
    for (const id of ids) await activities.closeAssignment({ assignmentId: id, endReason: 'lease_failed' });
  });
});

describe('recordHostFault', () => {
  test('records the fault against the host; an unhealthy one gets a cool-down that a retry does not shorten', async () => {
    const faultyProvider = await seedProvider(fresh.db, 1);
    const host = await seedHost(fresh.db, { providerId: faultyProvider });
    const [gpuId] = await seedGpus(fresh.db, { hostId: host, model: 'L4' });
    const leaseId = await seedLease(fresh.db, customerId);
    const { assignmentId } = await openTestAssignment(fresh.db, leaseId, { ...gpu, gpuId: gpuId!, hostId: host, providerId: faultyProvider });
    const unhealthyUntil = async () => (await fresh.db.selectFrom('hosts').select('unhealthy_until').where('id', '=', host).executeTakeFirstOrThrow()).unhealthy_until;

    await activities.recordHostFault({ hostId: host, assignmentId, kind: 'start_failed', detail: 'image missing', unhealthy: false });
    expect(await unhealthyUntil()).toBeNull();

    const before = Date.now();
    await activities.recordHostFault({ hostId: host, assignmentId, kind: 'start_timeout', detail: 'never reported running', unhealthy: true });
    const until = (await unhealthyUntil())!.getTime();
    expect(until).toBeGreaterThanOrEqual(before + 600_000 - 1_000);
    // A retry does not shorten the cool-down.
    await activities.recordHostFault({ hostId: host, assignmentId, kind: 'start_timeout', detail: 'never reported running', unhealthy: true });
    expect((await unhealthyUntil())!.getTime()).toBeGreaterThanOrEqual(until);

    const events = await hostEventsOf(fresh.db, host);
    expect(events.map((e) => [e.kind, e.assignment_id, e.detail])).toEqual([
      ['start_failed', assignmentId, 'image missing'],
      ['start_timeout', assignmentId, 'never reported running'],
      ['start_timeout', assignmentId, 'never reported running'],
    ]);
  });
});
