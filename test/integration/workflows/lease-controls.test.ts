/**
 * What a customer does to a lease besides waiting for it: extend, cancel, ask for more than there is;
 * and what the engine does when the containers end by themselves, or a start fails half-way with no
 * provider left to replace the host (the saga's compensation).
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
    queueTimeoutSeconds: 3,
    hosts: [
      { hostId: 'ct-a', provider: 'ct-atlas', tier: 1, gpus: 'RTX4090:24:0.90x1,A100:80:2.00x2,L40S:48:1.10x1' },
      { hostId: 'ct-b', provider: 'ct-cedar', tier: 2, gpus: 'L40S:48:0.80x1' },
    ],
  });
});
afterAll(async () => engine?.stop());

const lease = async (id: string) => (await engine.request('GET', `/v1/leases/${id}`)).body;
const post = (body: Record<string, unknown>) =>
  engine.request('POST', '/v1/leases', { maxPricePerGpuHour: '5', durationSeconds: 60, image: DEMO_IMAGE, command: SLEEP_FOREVER, minTier: 3, ...body });
const containersOf = (leaseId: string) => docker.listContainers({ all: true, filters: { label: [`lease-engine.lease=${leaseId}`] } });
/** Hosts stop a lease's containers at their next look at the desired state, just after the lease records its end. */
const containersGone = (leaseId: string) =>
  waitFor(async () => (await containersOf(leaseId)).length === 0 || undefined, 15_000, `lease ${leaseId}'s containers removed`).catch(() => undefined);
const freeGpus = async (model: string) =>
  ((await engine.request('GET', `/v1/offers?gpuModel=${model}`)).body as { available: number }[]).reduce((n, o) => n + o.available, 0);

test('extend moves the end by exactly the seconds asked; cancel stops the containers and frees the GPU', async () => {
  const { body } = await post({ gpuModel: 'RTX4090', gpuCount: 1 });
  const running = await waitFor(async () => { const l = await lease(body.id); return l.status === 'running' && l; }, 30_000, 'running');
  const endsAt = Date.parse(running.endsAt);

  const extended = await engine.request('POST', `/v1/leases/${body.id}/extend`, { seconds: 120 });
  expect(extended.status).toBe(200);
  expect(extended.body.durationSeconds).toBe(180);
  expect(Date.parse(extended.body.endsAt) - endsAt).toBe(120_000);
  expect((await engine.request('POST', `/v1/leases/${body.id}/extend`, { seconds: 0 })).status).toBeGreaterThanOrEqual(400);
  expect((await lease(body.id)).durationSeconds).toBe(180);

  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const cancelled = await engine.request('POST', `/v1/leases/${body.id}/cancel`);
  // The answer comes once the lease is closed and recorded, so it already tells why it ended.
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toMatchObject({ status: 'cancelled', endReason: 'cancelled by customer' });
  const ended = await waitFor(async () => { const l = await lease(body.id); return l.status === 'cancelled' && l; }, 30_000, 'cancelled');
  expect(ended.endReason).toBe('cancelled by customer');
  expect(ended.assignments[0]).toMatchObject({ endReason: 'lease_cancelled', endedAt: expect.any(String) });
  // Receipts signed up to the cancel are paid: cancellation hands them back from the host.
  expect(ended.assignments[0].verifiedSeconds).toBeGreaterThanOrEqual(2);
  await containersGone(body.id);
  expect(await containersOf(body.id)).toHaveLength(0);
  expect(await freeGpus('RTX4090')).toBe(1);
  expect((await engine.request('POST', `/v1/leases/${body.id}/extend`, { seconds: 60 })).status).toBe(409);
  // Deposit: the max rate, ceil(5.00 / 3600 s) = 1,389 base units a second, for every second the rolling deposit
  // bought (never past the extended end); the rest refunded.
  const { chain } = await expectMoneyBalanced(engine, body.id);
  expect(chain.deposited).toBe(1_389n * chain.durationSeconds);
  expect(chain.durationSeconds).toBeLessThanOrEqual(180n);
  expect(chain.refunded).toBeGreaterThan(0n);
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id)), 'lease-extended-then-cancelled');
}, 90_000);

test('a lease asking for more GPUs than exist fails after the queue timeout, naming what was missing', async () => {
  const { body, status } = await post({ gpuModel: 'A100', gpuCount: 3 });
  expect(status).toBe(201);
  const failed = await waitFor(async () => { const l = await lease(body.id); return l.status === 'failed' && l; }, 30_000, 'failed');
  expect(failed.endReason).toMatch(/no capacity within 3 s: needs 3 free A100 GPUs/);
  expect(failed.endReason).toMatch(/2 available/);
  expect(failed.assignments).toHaveLength(0);
  expect(await freeGpus('A100')).toBe(2);
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id)), 'lease-no-capacity');
}, 60_000);

test('cancel while still waiting for capacity ends the lease at once', async () => {
  const { body } = await post({ gpuModel: 'A100', gpuCount: 3 });
  await waitFor(async () => (await lease(body.id)).status === 'reserving', 10_000, 'reserving');
  const cancelled = await engine.request('POST', `/v1/leases/${body.id}/cancel`);
  expect(cancelled.status).toBe(200);
  expect((await lease(body.id)).status).toBe('cancelled');
}, 60_000);

test('a lease whose containers exit by themselves completes, paying only the seconds they ran', async () => {
  const { body } = await post({ gpuModel: 'A100', gpuCount: 2, command: ['sh', '-c', 'sleep 4'] });
  const done = await waitFor(async () => { const l = await lease(body.id); return l.status === 'completed' && l; }, 60_000, 'completed');
  expect(done.endReason).toBe('every container exited');
  for (const a of done.assignments) {
    expect(a.endReason).toBe('container_exited');
    // 4 s of sleep proven by 1 s receipts: at most what the container ran.
    expect(a.verifiedSeconds).toBeLessThanOrEqual(5);
  }
  await containersGone(body.id);
  expect(await containersOf(body.id)).toHaveLength(0);
  const { chain } = await expectMoneyBalanced(engine, body.id);
  expect(chain.refunded).toBeGreaterThan(0n);
  expect(await freeGpus('A100')).toBe(2);
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id)), 'lease-containers-exited');
}, 90_000);

test('a job done before its host first reports ran: the lease completes, it is not re-placed as a failed start', async () => {
  const { body } = await post({ gpuModel: 'RTX4090', gpuCount: 1, command: ['sh', '-c', 'exit 0'] });
  const done = await waitFor(async () => { const l = await lease(body.id); return ['completed', 'failed'].includes(l.status) && l; }, 60_000, 'ended');
  expect({ status: done.status, endReason: done.endReason }).toEqual({ status: 'completed', endReason: 'every container exited' });
  expect(done.assignments).toEqual([expect.objectContaining({ hostId: 'ct-a', endReason: 'container_exited' })]);
  expect(done.failoverCount).toBe(0);
  await expectMoneyBalanced(engine, body.id);
}, 90_000);

test('a start that fails half-way, with no provider left to replace it, stops what started and releases every GPU', async () => {
  // ct-b dies after its last report: still eligible for a moment, but nobody will start its container.
  engine.killHost('ct-b');
  const { body } = await post({ gpuModel: 'L40S', gpuCount: 2 });
  const failed = await waitFor(async () => { const l = await lease(body.id); return l.status === 'failed' && l; }, 60_000, 'failed');
  expect(failed.endReason).toMatch(/rank \d did not start \(host ct-b did not report the container running in time\) and was not replaced: no capacity/);
  // The host that took the reservation and never started it is out of placement, and it is on its record.
  const events = await engine.database.db.selectFrom('host_events').select(['kind']).where('host_id', '=', 'ct-b').execute();
  expect(events.map((e) => e.kind)).toContain('start_timeout');
  const host = await engine.database.db.selectFrom('hosts').select('unhealthy_until').where('id', '=', 'ct-b').executeTakeFirstOrThrow();
  expect(host.unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
  for (const a of failed.assignments) expect(a.endedAt).not.toBeNull();
  expect(failed.assignments.find((a: { hostId: string }) => a.hostId === 'ct-a').endReason).toBe('lease_failed');
  expect(failed.assignments.find((a: { hostId: string }) => a.hostId === 'ct-b').endReason).toBe('start_failed');
  await containersGone(body.id);
  expect(await containersOf(body.id)).toHaveLength(0);
  // What ct-a proved while ct-b's start timed out and no replacement was found is paid, as in any lease (a
  // second verified is a second paid); the rest of the deposit came back.
  const { chain, settlements } = await expectMoneyBalanced(engine, body.id);
  const proved = await engine.database.db.selectFrom('assignments').select(['host_id', 'provider_id', 'verified_seconds'])
    .where('lease_id', '=', body.id).execute();
  expect(proved.find((a) => a.host_id === 'ct-a')!.verified_seconds).toBeGreaterThan(0);
  expect(proved.find((a) => a.host_id === 'ct-b')!.verified_seconds).toBe(0);
  const paid = paidByProvider(settlements);
  for (const a of proved) expect(paid.get(a.provider_id)?.seconds ?? 0).toBe(a.verified_seconds);
  expect(chain.paidToProviders).toBeGreaterThan(0n);
  expect(chain.refunded).toBe(chain.deposited - chain.paidToProviders - chain.fees - chain.burned);
  const gpus = await engine.database.db.selectFrom('gpus').select(['status', 'lease_id']).where('model', '=', 'L40S').execute();
  expect(gpus).toEqual([{ status: 'free', lease_id: null }, { status: 'free', lease_id: null }]);
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id)), 'lease-start-compensated');
}, 90_000);
