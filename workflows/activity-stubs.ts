/**
 * Activity handles with the timeouts that give the lease its failure semantics. Host activities run
 * on the host's own queue: a host that does not pick work up within the heartbeat timeout, or stops
 * heartbeating while it runs, is lost — nothing is retried there, the workflow fails over instead.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { ControlActivities, HostActivities } from '../activities/contracts';
import { CONTROL_TASK_QUEUE, hostTaskQueue } from '../activities/contracts';
import type { LeaseTimings } from './messages';

/** Control-plane activities touch PostgreSQL only: retry until it answers (each is idempotent). */
export const control = proxyActivities<ControlActivities>({
  taskQueue: CONTROL_TASK_QUEUE,
  // Each takes milliseconds: a short timeout means a killed worker's attempt is retried elsewhere soon.
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s', backoffCoefficient: 2 },
});

// Durations in milliseconds.
const seconds = (s: number): number => s * 1000;

export interface HostStubs {
  startContainer: HostActivities['startContainer'];
  superviseAssignment: HostActivities['superviseAssignment'];
  stopContainer: HostActivities['stopContainer'];
}

export function hostActivities(hostId: string, timings: LeaseTimings): HostStubs {
  const onHost = (options: Omit<ActivityOptions, 'taskQueue'>) =>
    proxyActivities<HostActivities>({ ...options, taskQueue: hostTaskQueue(hostId) });
  const lostAfter = seconds(timings.heartbeatTimeoutSeconds);
  const { startContainer } = onHost({
    scheduleToStartTimeout: lostAfter,
    startToCloseTimeout: '60s',
    // A container that fails to start is retried once on the same host; then the lease compensates.
    retry: { maximumAttempts: 2, initialInterval: '500ms' },
  });
  const { superviseAssignment } = onHost({
    scheduleToStartTimeout: lostAfter,
    heartbeatTimeout: lostAfter,
    startToCloseTimeout: seconds(timings.settlementPeriodSeconds + 2 * timings.heartbeatTimeoutSeconds),
    retry: { maximumAttempts: 1 },
    // Cancelled supervision still hands back the receipts it signed (CancelledFailure details).
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  });
  const { stopContainer } = onHost({
    scheduleToStartTimeout: lostAfter,
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 2 },
  });
  return { startContainer, superviseAssignment, stopContainer };
}
