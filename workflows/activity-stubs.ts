/**
 * Activity handles with the timeouts that give the lease its failure semantics. Every activity runs
 * on the control task queue, inside the trust boundary: hosts are never scheduled work, they read
 * their desired state from the API and report back to it.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/contracts';
import { CONTROL_TASK_QUEUE } from '../activities/contracts';
import type { LeaseTimings } from './messages';

/** Control-plane activities touch PostgreSQL only: retry until it answers (each is idempotent). */
export const control = proxyActivities<ControlActivities>({
  taskQueue: CONTROL_TASK_QUEUE,
  // Each takes milliseconds: a short timeout means a killed worker's attempt is retried elsewhere soon.
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s', backoffCoefficient: 2 },
});

/**
 * A period's close runs inside the workflow task its timer wakes, as a local activity on the worker that runs the
 * lease: at 1,000 leases every period's round trip through Temporal is what saturates (bench/README.md). Recorded
 * as one marker instead of an activity task's three events and a workflow task's three; it is idempotent on
 * (lease, period), so the re-run a crashed worker's replacement makes takes the same receipts.
 */
export const periodClose = proxyLocalActivities<Pick<ControlActivities, 'closePeriod'>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s', backoffCoefficient: 2 },
});

/** Waiting for hosts to report containers running lasts up to the heartbeat timeout; it heartbeats meanwhile. */
export function dispatchWatch(timings: LeaseTimings): Pick<ControlActivities, 'awaitContainersRunning'> {
  return proxyActivities<ControlActivities>({
    taskQueue: CONTROL_TASK_QUEUE,
    // The deadline (a heartbeat timeout), one more while the fleet is heard late or not at all, and room to answer.
    startToCloseTimeout: `${2 * timings.heartbeatTimeoutSeconds + 30}s`,
    heartbeatTimeout: '5s',
    retry: { initialInterval: '200ms', maximumInterval: '5s', backoffCoefficient: 2 },
  });
}
