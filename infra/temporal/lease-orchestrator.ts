/**
 * LeaseOrchestrator over the Temporal client: one workflow per lease, id `lease-<leaseId>`, and
 * extend/cancel as updates so that the caller learns at once whether the workflow accepted them.
 */
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/common';
import { CONTROL_TASK_QUEUE } from '../../activities/contracts';
import type { LeaseOrchestrator } from '../../api/lease-orchestrator';
import { LeaseNotRunningError, LeaseUpdateRejectedError } from '../../api/lease-orchestrator';
import type { CancelLeaseResult, ExtendLeaseResult, LeaseWorkflowInput } from '../../workflows/messages';
import {
  cancelLeaseUpdate,
  extendLeaseUpdate,
  LEASE_WORKFLOW_TYPE,
  leaseWorkflowId,
  searchAttributes,
} from '../../workflows/messages';

/**
 * Failure types that mean "this request can never be accepted" (422) rather than "not in the lease's
 * current state" (409). A validator that throws a plain Error is read as a state conflict.
 */
const INVALID_REQUEST_FAILURE_TYPES = new Set(['InvalidArgument', 'ValidationError', 'RangeError', 'TypeError']);

export class TemporalLeaseOrchestrator implements LeaseOrchestrator {
  constructor(private readonly client: Client) {}

  async start(input: LeaseWorkflowInput): Promise<void> {
    try {
      await this.client.workflow.start(LEASE_WORKFLOW_TYPE, {
        workflowId: leaseWorkflowId(input.leaseId),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [input],
        // A finished lease must never be started again under the same id: a late retry is "already started".
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: searchAttributes.LeaseStatus, value: 'reserving' },
          { key: searchAttributes.GpuModel, value: input.spec.gpuModel },
          { key: searchAttributes.GpuTier, value: input.spec.minTier },
          { key: searchAttributes.CustomerId, value: input.customerId },
          { key: searchAttributes.FailoverCount, value: 0 },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  async extend(leaseId: string, seconds: number): Promise<ExtendLeaseResult> {
    return this.update(leaseId, () =>
      this.client.workflow.getHandle(leaseWorkflowId(leaseId)).executeUpdate(extendLeaseUpdate, { args: [{ seconds }] }),
    );
  }

  async cancel(leaseId: string): Promise<CancelLeaseResult> {
    return this.update(leaseId, () =>
      this.client.workflow.getHandle(leaseWorkflowId(leaseId)).executeUpdate(cancelLeaseUpdate),
    );
  }

  private async update<T>(leaseId: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw translateUpdateError(leaseId, err);
    }
  }
}

/** Temporal's errors in the API's words; anything unexpected passes through (a 5xx). */
export function translateUpdateError(leaseId: string, err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError) {
    return new LeaseNotRunningError(`lease ${leaseId} has no running workflow (it has finished)`);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    const message = cause?.message || err.message;
    const invalid = cause instanceof ApplicationFailure && INVALID_REQUEST_FAILURE_TYPES.has(cause.type ?? '');
    return new LeaseUpdateRejectedError(message, invalid ? 'invalid' : 'conflict');
  }
  return err;
}
