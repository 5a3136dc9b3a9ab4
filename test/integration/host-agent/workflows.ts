/**
 * Tiny workflows that drive the host activities through a real Temporal server, the way the lease
 * workflow will: on the host's task queue, with heartbeat timeouts, and waiting for cancellation to
 * complete so that a cancelled supervision's receipts come back.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  CancelledFailure,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type {
  HostActivities,
  StartContainerInput,
  StartContainerResult,
  StopContainerInput,
  SuperviseHeartbeat,
  SuperviseInput,
  SuperviseResult,
} from '../../../activities/contracts';

const hostActivities = (taskQueue: string) =>
  proxyActivities<HostActivities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '5 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 2, initialInterval: '100 ms' },
  });

export async function startContainerWorkflow(taskQueue: string, input: StartContainerInput): Promise<StartContainerResult> {
  return hostActivities(taskQueue).startContainer(input);
}

export async function superviseWorkflow(taskQueue: string, input: SuperviseInput): Promise<SuperviseResult> {
  return hostActivities(taskQueue).superviseAssignment(input);
}

export async function stopContainerWorkflow(taskQueue: string, input: StopContainerInput): Promise<void> {
  await hostActivities(taskQueue).stopContainer(input);
}

/** Cancels a supervision after `cancelAfterMs` and returns what the CancelledFailure's details carried. */
export async function cancelledSuperviseWorkflow(
  taskQueue: string,
  input: SuperviseInput,
  cancelAfterMs: number,
): Promise<{ cancelled: boolean; proven: SuperviseHeartbeat | undefined }> {
  const scope = new CancellationScope();
  const supervision = scope.run(() => hostActivities(taskQueue).superviseAssignment(input));
  await sleep(cancelAfterMs);
  scope.cancel();
  try {
    await supervision;
    return { cancelled: false, proven: undefined };
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    if (!(cause instanceof CancelledFailure)) throw error;
    return { cancelled: true, proven: cause.details[0] as SuperviseHeartbeat | undefined };
  }
}
