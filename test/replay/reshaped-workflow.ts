/**
 * The lease workflow as a careless change would leave it: one activity call moved ahead of the rest.
 * Replaying real histories against it must fail, which proves the replay test can catch such a change.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../../activities/contracts';
import type { LeaseWorkflowInput } from '../../workflows/messages';
import { leaseWorkflow as original } from '../../workflows/lease.workflow';

const { releaseGpus } = proxyActivities<ControlActivities>({ startToCloseTimeout: '10s' });

export async function leaseWorkflow(input: LeaseWorkflowInput): Promise<unknown> {
  await releaseGpus({ leaseId: input.leaseId, gpuIds: [] });
  return original(input);
}
