/**
 * What a host must stop after the API told it which assignments are live (DESIGN §2.5): a container
 * of a superseded epoch (its GPU was failed over while the host was away) or of an assignment that
 * ended while the agent was down. Pure, so the decision is tested without Docker.
 */
import type { ContainerState } from '../../domain/proof-receipt';

export interface LeaseContainer {
  containerId: string;
  leaseId: string;
  assignmentId: string;
  epoch: number;
  gpuId: string;
  state: Exclude<ContainerState, 'missing'>;
  /** Unix ms when Docker created it. */
  createdAt: number;
}

export interface LiveAssignment {
  assignmentId: string;
  epoch: number;
}

export interface ReconcileDecision {
  stop: { container: LeaseContainer; reason: 'superseded_epoch' | 'not_live' }[];
  keep: LeaseContainer[];
}

/**
 * `graceMs` protects a container that was started moments ago for an assignment the API has not
 * recorded yet (the workflow dispatches, the read model follows). A container whose assignment is
 * live at a newer epoch is stale beyond doubt and goes at once.
 */
export function decideReconcile(
  containers: LeaseContainer[],
  live: LiveAssignment[],
  now: number,
  graceMs: number,
): ReconcileDecision {
  const liveEpochs = new Map<string, number[]>();
  for (const assignment of live) {
    liveEpochs.set(assignment.assignmentId, [...(liveEpochs.get(assignment.assignmentId) ?? []), assignment.epoch]);
  }
  const decision: ReconcileDecision = { stop: [], keep: [] };
  for (const container of containers) {
    const epochs = liveEpochs.get(container.assignmentId) ?? [];
    if (epochs.includes(container.epoch)) {
      decision.keep.push(container);
    } else if (epochs.some((epoch) => epoch > container.epoch)) {
      decision.stop.push({ container, reason: 'superseded_epoch' });
    } else if (now - container.createdAt >= graceMs) {
      decision.stop.push({ container, reason: 'not_live' });
    } else {
      decision.keep.push(container);
    }
  }
  return decision;
}
