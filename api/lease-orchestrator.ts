/**
 * What the API needs from the lease workflow, and nothing more: the routes never see Temporal, so
 * the contract tests can drive them with a recording implementation and production wires in
 * infra/temporal/lease-orchestrator.ts.
 */
import type {
  CancelLeaseResult,
  ExtendLeaseResult,
  LeaseWorkflowInput,
} from '../workflows/messages';

export interface LeaseOrchestrator {
  /** Idempotent: a workflow that already exists for the lease counts as started. */
  start(input: LeaseWorkflowInput): Promise<void>;
  extend(leaseId: string, seconds: number): Promise<ExtendLeaseResult>;
  cancel(leaseId: string): Promise<CancelLeaseResult>;
}

/**
 * The workflow refused an update (its validator or handler threw). `kind` tells a request that can
 * never succeed ('invalid', answered 422) from one that clashes with the lease's state ('conflict', 409).
 */
export class LeaseUpdateRejectedError extends Error {
  override name = 'LeaseUpdateRejectedError';
  constructor(
    message: string,
    readonly kind: 'invalid' | 'conflict',
  ) {
    super(message);
  }
}

/** The lease has no running workflow any more (closed, or never started): nothing can change it. */
export class LeaseNotRunningError extends Error {
  override name = 'LeaseNotRunningError';
}
