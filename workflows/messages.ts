/**
 * The lease workflow's public surface: its input, its messages and its search attributes.
 * Module constants, so the API (client side) and the workflow (handler side) share one definition.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LeaseSpec, LeaseStatus } from '../domain/lease';

export const LEASE_WORKFLOW_TYPE = 'leaseWorkflow';
export const leaseWorkflowId = (leaseId: string): string => `lease-${leaseId}`;

/** Timing knobs, fixed per lease at start so that a config change never alters a running lease's replay. */
export interface LeaseTimings {
  heartbeatTimeoutSeconds: number;
  proofIntervalSeconds: number;
  settlementPeriodSeconds: number;
  queueTimeoutSeconds: number;
  /** K of the rolling deposit: the escrow holds the current period and the next K (domain/rolling-deposit). */
  depositWindowPeriods: number;
}

export interface LeaseWorkflowInput {
  leaseId: string;
  customerId: string;
  spec: LeaseSpec;
  timings: LeaseTimings;
}

export interface ExtendLeaseRequest {
  seconds: number;
}
export interface ExtendLeaseResult {
  durationSeconds: number | null;
  /** Unix ms, null while the lease has not started running yet. */
  endsAt: number | null;
}
export interface CancelLeaseResult {
  status: LeaseStatus;
}

export interface LeaseSnapshot {
  leaseId: string;
  status: LeaseStatus;
  endReason: string | null;
  /** Null: open-ended, it runs until cancelled or until its allowance runs out. */
  durationSeconds: number | null;
  startedAt: number | null;
  /** Unix ms: the fixed end, or the last second the escrow has funded if that comes first; null before it runs. */
  endsAt: number | null;
  /** Seconds of the lease the escrow has bought so far (its rolling deposit). */
  fundedSeconds: number;
  failoverCount: number;
  period: number;
  assignments: { assignmentId: string; gpuId: string; hostId: string; providerId: string; tier: number; rank: number; epoch: number; verifiedSeconds: number }[];
}

/** Longest single extension; longer leases are extended repeatedly. */
export const MAX_EXTEND_SECONDS = 30 * 24 * 3600;

export const extendLeaseUpdate = defineUpdate<ExtendLeaseResult, [ExtendLeaseRequest]>('extendLease');
export const cancelLeaseUpdate = defineUpdate<CancelLeaseResult, []>('cancelLease');
export const leaseSnapshotQuery = defineQuery<LeaseSnapshot>('leaseSnapshot');

/**
 * What the fleet monitor tells a lease about one of its running assignments, judged from the hosts'
 * reports: its host went silent, turned unhealthy (kept sending rejected receipts), or the container
 * ended by itself. The monitor repeats it until the assignment ends, so a lost signal costs seconds.
 */
export type AssignmentFaultKind = 'host_lost' | 'host_unhealthy' | 'container_exited';
export interface AssignmentFault {
  assignmentId: string;
  epoch: number;
  kind: AssignmentFaultKind;
  detail: string;
}
export const assignmentFaultSignal = defineSignal<[AssignmentFault]>('assignmentFault');

/** DESIGN §2.8: what operators filter on in the Temporal UI. */
export const searchAttributes = {
  LeaseStatus: defineSearchAttributeKey('LeaseStatus', 'KEYWORD'),
  GpuModel: defineSearchAttributeKey('GpuModel', 'KEYWORD'),
  GpuTier: defineSearchAttributeKey('GpuTier', 'INT'),
  CustomerId: defineSearchAttributeKey('CustomerId', 'KEYWORD'),
  ProviderIds: defineSearchAttributeKey('ProviderIds', 'KEYWORD_LIST'),
  FailoverCount: defineSearchAttributeKey('FailoverCount', 'INT'),
} as const;
