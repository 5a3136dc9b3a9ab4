/**
 * Every status change of a lease is written in three places at once: the workflow state (queries),
 * the search attributes (Temporal UI filters), and PostgreSQL (the REST API's read model).
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { LeaseStatus } from '../domain/lease';
import type { LeaseStatusChange } from '../activities/contracts';
import { control } from './activity-stubs';
import { fixedEndsAt, providerIds, runningTier } from './lease-state';
import type { LeaseState } from './lease-state';
import type { LeaseWorkflowInput } from './messages';
import { searchAttributes } from './messages';

export function publishSearchAttributes(input: LeaseWorkflowInput, state: LeaseState): void {
  upsertSearchAttributes([
    { key: searchAttributes.LeaseStatus, value: state.status },
    { key: searchAttributes.GpuModel, value: input.spec.gpuModel },
    { key: searchAttributes.GpuTier, value: runningTier(state, input.spec.minTier) },
    { key: searchAttributes.CustomerId, value: input.customerId },
    { key: searchAttributes.ProviderIds, value: providerIds(state) },
    { key: searchAttributes.FailoverCount, value: state.failoverCount },
  ]);
}

export async function setStatus(
  input: LeaseWorkflowInput,
  state: LeaseState,
  status: LeaseStatus,
  extra: Omit<LeaseStatusChange, 'leaseId' | 'status'> = {},
): Promise<void> {
  state.status = status;
  if (extra.endReason !== undefined) state.endReason = extra.endReason;
  publishSearchAttributes(input, state);
  await control.recordLeaseStatus({
    leaseId: input.leaseId,
    status,
    failoverCount: state.failoverCount,
    // The read model shows the fixed end only: a rolling deposit's funded end moves every period (the lease's events
    // warn when the allowance cannot move it further).
    ...(state.startedAt !== null ? { startedAt: state.startedAt, endsAt: fixedEndsAt(state) ?? undefined } : {}),
    ...extra,
  });
}
