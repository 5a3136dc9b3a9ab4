/**
 * A lease from POST to completion on a real engine: reservation, one container per GPU on the hosts'
 * Docker engine, supervised periods with verified receipts, and a clean close.
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
    hosts: [
      { hostId: 'hp-t1-a', provider: 'hp-atlas', tier: 1, gpus: 'H100:80:3.20x2' },
      { hostId: 'hp-t2-a', provider: 'hp-cedar', tier: 2, gpus: 'H100:80:2.60x2' },
    ],
  });
});
afterAll(async () => engine?.stop());

const leaseContainers = async (leaseId: string) =>
  docker.listContainers({ all: true, filters: { label: [`lease-engine.lease=${leaseId}`] } });

test('a 2-GPU lease runs its containers, proves its seconds and completes at its end', async () => {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'H100', gpuCount: 2, minTier: 2, maxPricePerGpuHour: '3.00', durationSeconds: 60, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;

  const running = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'running' && lease;
  }, 30_000, 'lease running');
  // Tier 2 asked, price cap 3.00: the tier-1 GPUs at 3.20 are over the cap, so both land on tier 2.
  expect(running.assignments).toHaveLength(2);
  expect(running.assignments.map((a: { rank: number }) => a.rank).sort()).toEqual([0, 1]);
  for (const a of running.assignments) {
    expect(a).toMatchObject({ hostId: 'hp-t2-a', tier: 2, epoch: expect.any(Number), endedAt: null });
  }
  const containers = await leaseContainers(leaseId);
  expect(containers.filter((c) => c.State === 'running')).toHaveLength(2);

  // Operators find it in the Temporal UI by its search attributes.
  const handle = engine.temporal.client.workflow.getHandle(leaseWorkflowId(leaseId));
  const attributes = (await handle.describe()).searchAttributes;
  expect(attributes).toMatchObject({ LeaseStatus: ['running'], GpuModel: ['H100'], GpuTier: [2], FailoverCount: [0] });
  expect(attributes.ProviderIds).toEqual([engine.providers.get('hp-cedar')!.id]);

  const done = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'completed' && lease;
  }, 90_000, 'lease completed');
  expect(done.endReason).toBe('duration elapsed');
  const runSeconds = (Date.parse(done.endedAt) - Date.parse(done.startedAt)) / 1000;
  expect(runSeconds).toBeGreaterThanOrEqual(60);
  for (const a of done.assignments) {
    expect(a.endReason).toBe('lease_completed');
    // 1 s receipts over a 60 s lease: nearly all of it is proven, never more than it ran.
    expect(a.verifiedSeconds).toBeGreaterThanOrEqual(50);
    expect(a.verifiedSeconds).toBeLessThanOrEqual(61);
  }
  // Hosts remove them at their next look at the desired state, just after the lease records its end.
  await waitFor(async () => (await leaseContainers(leaseId)).length === 0 || undefined, 15_000, 'containers removed').catch(() => undefined);
  expect(await leaseContainers(leaseId)).toHaveLength(0);

  // Money: every proven second paid at the GPU's price, the rest refunded, exactly.
  const { chain, settlements } = await expectMoneyBalanced(engine, leaseId);
  const paid = paidByProvider(settlements).get(engine.providers.get('hp-cedar')!.id)!;
  const provenSeconds = done.assignments.reduce((n: number, a: { verifiedSeconds: number }) => n + a.verifiedSeconds, 0);
  expect(paid.seconds).toBe(provenSeconds);
  // Each assignment pays floor(2.60 × its seconds / 3600) in base units of the 6-decimal token.
  const due = done.assignments.reduce((n: bigint, a: { verifiedSeconds: number }) => n + (2_600_000n * BigInt(a.verifiedSeconds)) / 3600n, 0n);
  expect(paid.gross).toBe(due);
  // Deposit: the max rate, ceil(3.00 × 2 GPUs / 3600 s) = 1,667 base units a second, for the whole 60 s: the opening
  // 15 s (this 5 s period and the next two) and then a 5 s top-up in each period's settlement, never past the end.
  expect(chain.durationSeconds).toBe(60n);
  expect(chain.deposited).toBe(1_667n * 60n);
  expect(settlements.filter((s) => BigInt(s.settlement.top_up) > 0n).length).toBe(9);
  expect(settlements.length).toBeGreaterThanOrEqual(12);
  const offers = (await engine.request('GET', '/v1/offers?gpuModel=H100')).body as { tier: number; available: number }[];
  expect(offers.find((o) => o.tier === 2)?.available).toBe(2);
  await recordHistory(handle, 'lease-completed');
}, 150_000);
