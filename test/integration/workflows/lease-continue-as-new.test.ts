/**
 * History stays bounded (DESIGN §2.7): with the server suggesting continue-as-new after a few events,
 * a running lease moves to a new run at a period boundary and carries on with the same containers.
 */
import Docker from 'dockerode';
import { leaseWorkflowId } from '../../../workflows/messages';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { recordHistory } from '../../support/histories';

let engine: TestEngine;
const docker = new Docker();

beforeAll(async () => {
  engine = await startEngine({
    suggestContinueAsNewAfterEvents: 40,
    hosts: [{ hostId: 'can-a', provider: 'can-atlas', tier: 2, gpus: 'H100:80:2.00x1' }],
  });
});
afterAll(async () => engine?.stop());

test('a lease continues as new with its state and containers, and can still be cancelled', async () => {
  const { body } = await engine.request('POST', '/v1/leases', {
    gpuModel: 'H100', gpuCount: 1, minTier: 3, maxPricePerGpuHour: '3', durationSeconds: 120, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  const handle = engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id));
  const firstRunId = (await handle.describe()).runId;
  const second = await waitFor(async () => {
    const d = await handle.describe();
    return d.runId !== firstRunId && d.status.name === 'RUNNING' && d;
  }, 60_000, 'a second run');
  expect(second.searchAttributes.LeaseStatus).toEqual(['running']);

  const before = (await engine.request('GET', `/v1/leases/${body.id}`)).body;
  expect(before.assignments).toHaveLength(1);
  const verifiedBefore = before.assignments[0].verifiedSeconds as number;
  await waitFor(async () => {
    const l = (await engine.request('GET', `/v1/leases/${body.id}`)).body;
    return l.assignments[0].verifiedSeconds > verifiedBefore;
  }, 30_000, 'receipts verified in the new run');
  const snapshot = await handle.query<{ period: number; assignments: { assignmentId: string }[] }>('leaseSnapshot');
  expect(snapshot.assignments[0]!.assignmentId).toBe(before.assignments[0].assignmentId);
  // The period count went on from the first run: the state was carried, not started afresh.
  expect(snapshot.period).toBeGreaterThanOrEqual(1);
  const containers = await docker.listContainers({ filters: { label: [`lease-engine.lease=${body.id}`] } });
  expect(containers).toHaveLength(1);

  expect((await engine.request('POST', `/v1/leases/${body.id}/cancel`)).status).toBe(200);
  expect((await engine.request('GET', `/v1/leases/${body.id}`)).body.status).toBe('cancelled');
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id), firstRunId), 'lease-continued-as-new-first-run');
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(body.id), second.runId), 'lease-continued-as-new-second-run');
}, 120_000);
