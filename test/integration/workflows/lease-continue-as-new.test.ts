/**
 * History stays bounded (DESIGN §2.7): with the server suggesting continue-as-new after a few events,
 * a running lease moves to a new run at a period boundary and carries on with the same containers.
 * A run's history ends at the suggestion plus one period whatever the lease's age, so a lease of 24 h of
 * 5 s periods (17,280 periods) is a chain of runs each near Temporal's default suggestion (4,096 events),
 * far below its 51,200-event limit; the second test shows that chain on a small limit.
 */
import Docker from 'dockerode';
import { leaseWorkflowId } from '../../../workflows/messages';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { recordHistory } from '../../support/histories';

let engine: TestEngine;
const docker = new Docker();
const SUGGEST_AFTER_EVENTS = 40;

beforeAll(async () => {
  engine = await startEngine({
    suggestContinueAsNewAfterEvents: SUGGEST_AFTER_EVENTS,
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

test('a long lease is a chain of runs, each bounded by the suggestion plus one period, every period settled once', async () => {
  const { body } = await engine.request('POST', '/v1/leases', {
    gpuModel: 'H100', gpuCount: 1, minTier: 3, maxPricePerGpuHour: '3', durationSeconds: 600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  const workflowId = leaseWorkflowId(body.id);
  const runsOf = async () => {
    const runs = [];
    for await (const run of engine.temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run);
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  };
  // Five runs handed over: four whole steady runs after the first (which also reserved, locked and dispatched).
  await waitFor(async () => (await runsOf()).filter((r) => r.status.name === 'CONTINUED_AS_NEW').length >= 5, 110_000, 'five runs continued as new');
  expect((await engine.request('POST', `/v1/leases/${body.id}/cancel`)).status).toBe(200);

  const runs = await runsOf();
  const handedOver = runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW');
  const lengths = handedOver.map((r) => r.historyLength);
  // One period is a timer, the settlement's activities and their workflow tasks: well under the suggestion.
  for (const length of lengths) expect(length).toBeLessThanOrEqual(2 * SUGGEST_AFTER_EVENTS);
  // Later runs are no longer than the early ones: the bound does not grow with the lease's age.
  const steady = lengths.slice(1);
  expect(Math.max(...steady)).toBeLessThanOrEqual(Math.min(...steady) + SUGGEST_AFTER_EVENTS / 2);
  expect(runs.at(-1)!.status.name).toBe('COMPLETED');

  // The runs settled one chain of periods: each once, none skipped at a hand-over.
  const settled = await engine.database.db.selectFrom('settlements').select(['period', 'kind']).where('lease_id', '=', body.id).orderBy('period').execute();
  const periods = settled.filter((s) => s.kind === 'settle').map((s) => Number(s.period));
  expect(periods.length).toBeGreaterThanOrEqual(handedOver.length);
  expect(periods).toEqual(periods.map((_, i) => periods[0]! + i));
  expect(settled.filter((s) => s.kind === 'close')).toHaveLength(1);
}, 150_000);
