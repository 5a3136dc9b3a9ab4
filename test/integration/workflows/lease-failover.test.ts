/**
 * Provider loss: a host agent is SIGKILLed mid-lease. The rank fails over to another provider of the
 * same or better tier with a new epoch, the lost host is paid nothing past its last receipt, and when
 * the killed agent comes back it stops its superseded container.
 */
import Docker from 'dockerode';
import { leaseWorkflowId } from '../../../workflows/messages';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { recordHistory } from '../../support/histories';
import { expectMoneyBalanced, paidByProvider } from '../../support/money';

let engine: TestEngine;
const docker = new Docker();

beforeAll(async () => {
  engine = await startEngine({
    heartbeatTimeoutSeconds: 4,
    hosts: [
      { hostId: 'fo-t1-cheap', provider: 'fo-atlas', tier: 1, gpus: 'A100:80:2.00x2' },
      { hostId: 'fo-t1-other', provider: 'fo-borealis', tier: 1, gpus: 'A100:80:2.40x2' },
      { hostId: 'fo-t3', provider: 'fo-delta', tier: 3, gpus: 'A100:80:0.90x4' },
    ],
  });
});
afterAll(async () => engine?.stop());

interface AssignmentView { assignmentId: string; hostId: string; providerId: string; tier: number; epoch: number; rank: number; startedAt: string; endedAt: string | null; endReason: string | null; verifiedSeconds: number }

test('a killed host fails over to another tier-1 provider and its unproven seconds are not counted', async () => {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '5', durationSeconds: 300, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  const running = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'running' && lease;
  }, 30_000, 'lease running');
  const [first] = running.assignments as AssignmentView[];
  expect(first).toMatchObject({ hostId: 'fo-t1-cheap', tier: 1 });

  await new Promise((resolve) => setTimeout(resolve, 4_000));
  const killedAt = Date.now();
  engine.killHost('fo-t1-cheap');

  const recovered = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    const live = (lease.assignments as AssignmentView[]).filter((a) => a.endedAt === null);
    return lease.status === 'running' && live.length === 1 && live[0]!.hostId !== 'fo-t1-cheap' && lease;
  }, 30_000, 'replacement running');
  const replacement = (recovered.assignments as AssignmentView[]).find((a) => a.endedAt === null)!;
  // Same or better tier (never the cheaper tier-3 GPUs), another provider, same rank, newer epoch.
  expect(replacement).toMatchObject({ hostId: 'fo-t1-other', tier: 1, rank: first!.rank });
  expect(replacement.providerId).not.toBe(first!.providerId);
  expect(replacement.epoch).toBeGreaterThan(first!.epoch);
  expect(recovered.failoverCount).toBe(1);
  const containers = await docker.listContainers({ filters: { label: [`lease-engine.assignment=${replacement.assignmentId}`] } });
  expect(containers).toHaveLength(1);

  // Let the period with the loss be verified, then look at what the lost host was credited.
  const settled = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    const live = (lease.assignments as AssignmentView[]).find((a) => a.assignmentId === replacement.assignmentId)!;
    return live.verifiedSeconds > 0 && lease;
  }, 30_000, 'period after failover verified');
  const lost = (settled.assignments as AssignmentView[]).find((a) => a.assignmentId === first!.assignmentId)!;
  expect(lost.endReason).toBe('host_lost');
  expect(Date.parse(lost.endedAt!)).toBeLessThanOrEqual(killedAt);
  const provable = (killedAt - Date.parse(lost.startedAt)) / 1000;
  expect(lost.verifiedSeconds).toBeGreaterThan(0);
  expect(lost.verifiedSeconds).toBeLessThanOrEqual(Math.ceil(provable));

  const handle = engine.temporal.client.workflow.getHandle(leaseWorkflowId(leaseId));
  expect((await handle.describe()).searchAttributes.FailoverCount).toEqual([1]);

  // The killed agent comes back with its key: its container of the superseded epoch is stopped.
  const stale = await docker.listContainers({ all: true, filters: { label: [`lease-engine.assignment=${first!.assignmentId}`] } });
  expect(stale).toHaveLength(1);
  engine.reviveHost('fo-t1-cheap');
  await waitFor(async () => {
    const left = await docker.listContainers({ all: true, filters: { label: [`lease-engine.assignment=${first!.assignmentId}`] } });
    return left.length === 0;
  }, 30_000, 'superseded container stopped by the revived agent');

  const cancelled = await engine.request('POST', `/v1/leases/${leaseId}/cancel`);
  expect([200, 202]).toContain(cancelled.status);
  const ended = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'cancelled' && lease;
  }, 30_000, 'cancelled');

  // Money: balanced to the base unit, and the lost host's provider paid exactly its verified seconds.
  const { settlements } = await expectMoneyBalanced(engine, leaseId);
  const paid = paidByProvider(settlements);
  const lostFinal = (ended.assignments as AssignmentView[]).find((a) => a.assignmentId === first!.assignmentId)!;
  expect(paid.get(first!.providerId)?.seconds).toBe(lostFinal.verifiedSeconds);
  const replacementFinal = (ended.assignments as AssignmentView[]).find((a) => a.assignmentId === replacement.assignmentId)!;
  expect(paid.get(replacement.providerId)?.seconds).toBe(replacementFinal.verifiedSeconds);
  await recordHistory(handle, 'lease-failover-then-cancel');
}, 180_000);
