/**
 * Where a lease's time went, read from its workflow history: every activity with the moments the
 * server scheduled it, a worker picked it up, and it closed. The server stamps them all on this
 * machine's clock, so they line up with the benchmark's own Date.now() readings.
 */
import type { WorkflowClient } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { tsToMs } from '@temporalio/common/lib/time';

type HistoryEvent = NonNullable<History['events']>[number];
type Payloads = NonNullable<HistoryEvent['activityTaskScheduledEventAttributes']>['input'];

export interface ActivityRun {
  /** Activity type, with the status for recordLeaseStatus (e.g. "recordLeaseStatus:running"). */
  name: string;
  taskQueue: string;
  scheduledAt: number;
  startedAt: number | null;
  closedAt: number | null;
  outcome: 'completed' | 'failed' | 'timed_out' | 'canceled' | null;
}

export interface WorkflowTimeline {
  workflowStartedAt: number;
  activities: ActivityRun[];
  /** Signals as the server recorded them (e.g. the fleet monitor's assignmentFault). */
  signals: { name: string; at: number }[];
}

const decoder = new TextDecoder();

function firstArgument(payloads: Payloads): unknown {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

const at = (event: HistoryEvent): number => tsToMs(event.eventTime);

export async function workflowTimeline(client: WorkflowClient, workflowId: string): Promise<WorkflowTimeline> {
  const history = await client.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const byScheduledId = new Map<string, ActivityRun>();
  let workflowStartedAt = 0;
  const signals: WorkflowTimeline['signals'] = [];
  for (const event of events) {
    if (event.workflowExecutionStartedEventAttributes) workflowStartedAt = at(event);
    const signalled = event.workflowExecutionSignaledEventAttributes;
    if (signalled) signals.push({ name: signalled.signalName ?? '?', at: at(event) });
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const type = scheduled.activityType?.name ?? '?';
      const arg = firstArgument(scheduled.input) as { status?: string } | undefined;
      byScheduledId.set(String(event.eventId), {
        name: type === 'recordLeaseStatus' && arg?.status ? `${type}:${arg.status}` : type,
        taskQueue: scheduled.taskQueue?.name ?? '',
        scheduledAt: at(event),
        startedAt: null,
        closedAt: null,
        outcome: null,
      });
      continue;
    }
    const closing =
      (event.activityTaskStartedEventAttributes && { kind: 'started' as const, ref: event.activityTaskStartedEventAttributes.scheduledEventId }) ||
      (event.activityTaskCompletedEventAttributes && { kind: 'completed' as const, ref: event.activityTaskCompletedEventAttributes.scheduledEventId }) ||
      (event.activityTaskFailedEventAttributes && { kind: 'failed' as const, ref: event.activityTaskFailedEventAttributes.scheduledEventId }) ||
      (event.activityTaskTimedOutEventAttributes && { kind: 'timed_out' as const, ref: event.activityTaskTimedOutEventAttributes.scheduledEventId }) ||
      (event.activityTaskCanceledEventAttributes && { kind: 'canceled' as const, ref: event.activityTaskCanceledEventAttributes.scheduledEventId });
    if (!closing) continue;
    const run = byScheduledId.get(String(closing.ref));
    if (!run) continue;
    if (closing.kind === 'started') run.startedAt = at(event);
    else {
      run.closedAt = at(event);
      run.outcome = closing.kind;
    }
  }
  return { workflowStartedAt, activities: [...byScheduledId.values()].sort((a, b) => a.scheduledAt - b.scheduledAt), signals };
}

/** The runs of one activity (by name) in [from, to), in the order they were scheduled. */
export function runsOf(timeline: WorkflowTimeline, name: string, from = 0, to = Infinity): ActivityRun[] {
  return timeline.activities.filter((a) => a.name === name && a.scheduledAt >= from && a.scheduledAt < to);
}

export const maxOf = (values: (number | null)[]): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length > 0 ? Math.max(...present) : null;
};
export const minOf = (values: (number | null)[]): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length > 0 ? Math.min(...present) : null;
};
