/**
 * What the agent must do to bring its Docker engine to the desired state the API gave it (DESIGN
 * §2.3, §2.5). Pure, so the decision is tested without Docker. Only containers the engine labelled
 * for this host are ever considered: a provider's own containers are never touched.
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

/** What the agent needs of a desired assignment to decide. */
export interface WantedAssignment {
  assignmentId: string;
  epoch: number;
  state: 'run' | 'stop';
}

export interface ReconcilePlan {
  /** Desired running with no container yet, and not tried before (an exited container is never restarted). */
  start: WantedAssignment[];
  stop: { container: LeaseContainer; reason: 'stopped' | 'superseded_epoch' | 'not_desired' }[];
}

export const assignmentKey = (assignmentId: string, epoch: number): string => `${assignmentId}@${epoch}`;

/**
 * `tried` holds the keys of assignments this agent already started (or failed to): a container that
 * exited by itself, or that its host could not start, is reported, not started again.
 */
export function planReconcile(containers: LeaseContainer[], desired: WantedAssignment[], tried: ReadonlySet<string>): ReconcilePlan {
  const running = new Map(desired.filter((d) => d.state === 'run').map((d) => [assignmentKey(d.assignmentId, d.epoch), d]));
  const plan: ReconcilePlan = { start: [], stop: [] };
  for (const container of containers) {
    if (running.has(assignmentKey(container.assignmentId, container.epoch))) continue;
    const newer = desired.some((d) => d.assignmentId === container.assignmentId && d.epoch > container.epoch);
    const stopped = desired.some((d) => d.assignmentId === container.assignmentId && d.epoch === container.epoch);
    plan.stop.push({ container, reason: newer ? 'superseded_epoch' : stopped ? 'stopped' : 'not_desired' });
  }
  for (const [key, wanted] of running) {
    const exists = containers.some((c) => assignmentKey(c.assignmentId, c.epoch) === key);
    if (!exists && !tried.has(key)) plan.start.push(wanted);
  }
  return plan;
}
