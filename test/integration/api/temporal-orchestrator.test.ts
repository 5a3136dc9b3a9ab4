/**
 * TemporalLeaseOrchestrator against a real Temporal dev server, with no worker: what the API relies on
 * before any workflow code runs (ids, task queue, search attributes, idempotent start, closed leases).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LeaseNotRunningError } from '../../../api/lease-orchestrator';
import { CONTROL_TASK_QUEUE } from '../../../activities/contracts';
import { TemporalLeaseOrchestrator } from '../../../infra/temporal/lease-orchestrator';
import type { LeaseWorkflowInput } from '../../../workflows/messages';
import { LEASE_WORKFLOW_TYPE, leaseWorkflowId, searchAttributes } from '../../../workflows/messages';
import { startTemporal } from '../../support/temporal';
import { timings } from './fixtures';

let env: TestWorkflowEnvironment;
let orchestrator: TemporalLeaseOrchestrator;

beforeAll(async () => {
  env = await startTemporal();
  orchestrator = new TemporalLeaseOrchestrator(env.client);
});

afterAll(() => env?.teardown());

const input = (leaseId: string): LeaseWorkflowInput => ({
  leaseId,
  customerId: 'customer-1',
  spec: { gpuModel: 'H100', gpuCount: 2, minTier: 2, maxPricePerGpuHour: '2500000', durationSeconds: 600, image: 'busybox' },
  timings,
});

test('start names the workflow after the lease, on lease-control, with the operator search attributes', async () => {
  await orchestrator.start(input('l-start'));
  const handle = env.client.workflow.getHandle(leaseWorkflowId('l-start'));
  const description = await handle.describe();
  expect([description.type, description.taskQueue, description.status.name]).toEqual([LEASE_WORKFLOW_TYPE, CONTROL_TASK_QUEUE, 'RUNNING']);
  const attributes = description.typedSearchAttributes;
  expect([
    attributes.get(searchAttributes.LeaseStatus),
    attributes.get(searchAttributes.GpuModel),
    attributes.get(searchAttributes.GpuTier),
    attributes.get(searchAttributes.CustomerId),
    attributes.get(searchAttributes.FailoverCount),
  ]).toEqual(['reserving', 'H100', 2, 'customer-1', 0]);
  await handle.terminate('test over');
});

test('starting twice is one workflow, and a finished lease is never started again', async () => {
  await orchestrator.start(input('l-twice'));
  await orchestrator.start(input('l-twice'));
  const handle = env.client.workflow.getHandle(leaseWorkflowId('l-twice'));
  const { runId } = await handle.describe();
  await handle.terminate('lease over');
  await orchestrator.start(input('l-twice'));
  const after = await env.client.workflow.getHandle(leaseWorkflowId('l-twice')).describe();
  expect([after.runId, after.status.name]).toEqual([runId, 'TERMINATED']);
});

test('extend or cancel of a lease without a running workflow → LeaseNotRunningError', async () => {
  await expect(orchestrator.cancel('l-never')).rejects.toBeInstanceOf(LeaseNotRunningError);
  await orchestrator.start(input('l-closed'));
  await env.client.workflow.getHandle(leaseWorkflowId('l-closed')).terminate('lease over');
  await expect(orchestrator.extend('l-closed', 60)).rejects.toBeInstanceOf(LeaseNotRunningError);
});
