/**
 * A lease's settlement periods as its workflow history tells them. Like history.ts, but it also reads
 * each activity's input, and each local activity's result, because that is where a period's end is written
 * exactly: the closePeriod marker's `endsAt` (a local activity: its marker keeps its result, not its input).
 * Then, per period: its close and the settlePeriod that followed (with the on-chain period number the
 * settlement took). Server timestamps, on this machine's clock. Follows continue-as-new back
 * to the first run, so a long lease keeps all its periods.
 */
import type { WorkflowClient } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { tsToMs } from '@temporalio/common/lib/time';
import { localActivityOf } from './local-activity';

type HistoryEvent = NonNullable<History['events']>[number];
type Payloads = NonNullable<HistoryEvent['activityTaskScheduledEventAttributes']>['input'];

export interface ActivityTimes {
  scheduledAt: number;
  /** Null for a local activity: it runs in the workflow task that schedules it, with no pickup of its own. */
  startedAt: number | null;
  closedAt: number | null;
  outcome: 'completed' | 'failed' | 'timed_out' | 'canceled' | null;
}

interface ScheduledActivity extends ActivityTimes {
  name: string;
  /** A local activity's result, which says again what its input was. */
  input: Record<string, unknown> | undefined;
}

export interface PeriodRound {
  /** The workflow's period index (from 0): every period, paid or not. */
  period: number;
  /** Unix ms the period ends: its closePeriod marker's `endsAt`. */
  until: number;
  /** The period's close: total the verified seconds, digest the receipts, start the next challenge. */
  close: ActivityTimes | null;
  /** Absent for a period that paid nothing and for the last one (paid by the close). */
  settle: (ActivityTimes & { chainPeriod: number }) | null;
}

const decoder = new TextDecoder();

function firstArgument(payloads: Payloads): Record<string, unknown> | undefined {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(decoder.decode(data)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const at = (event: HistoryEvent): number => tsToMs(event.eventTime);

/** Every activity of one run, in the order it was scheduled, and the run it continued from. */
function activitiesOf(events: HistoryEvent[]): { activities: ScheduledActivity[]; continuedFrom: string | null } {
  const byScheduledId = new Map<string, ScheduledActivity>();
  let continuedFrom: string | null = null;
  let taskStartedAt: number | null = null;
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) taskStartedAt = at(event);
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) continuedFrom = started.continuedExecutionRunId || null;
    const local = localActivityOf(event);
    if (local) {
      const scheduledAt = local.scheduledAt ?? at(event);
      const ranMs = local.perceivedCompleteAt !== null && taskStartedAt !== null ? Math.max(0, local.perceivedCompleteAt - taskStartedAt) : null;
      byScheduledId.set(String(event.eventId), {
        name: local.type,
        input: local.result,
        scheduledAt,
        startedAt: null,
        closedAt: ranMs === null ? at(event) : scheduledAt + ranMs,
        outcome: local.result ? 'completed' : 'failed',
      });
      continue;
    }
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduledId.set(String(event.eventId), {
        name: scheduled.activityType?.name ?? '?',
        input: firstArgument(scheduled.input),
        scheduledAt: at(event),
        startedAt: null,
        closedAt: null,
        outcome: null,
      });
      continue;
    }
    const step =
      (event.activityTaskStartedEventAttributes && { kind: 'started' as const, ref: event.activityTaskStartedEventAttributes.scheduledEventId }) ||
      (event.activityTaskCompletedEventAttributes && { kind: 'completed' as const, ref: event.activityTaskCompletedEventAttributes.scheduledEventId }) ||
      (event.activityTaskFailedEventAttributes && { kind: 'failed' as const, ref: event.activityTaskFailedEventAttributes.scheduledEventId }) ||
      (event.activityTaskTimedOutEventAttributes && { kind: 'timed_out' as const, ref: event.activityTaskTimedOutEventAttributes.scheduledEventId }) ||
      (event.activityTaskCanceledEventAttributes && { kind: 'canceled' as const, ref: event.activityTaskCanceledEventAttributes.scheduledEventId });
    const activity = step ? byScheduledId.get(String(step.ref)) : undefined;
    if (!step || !activity) continue;
    if (step.kind === 'started') activity.startedAt = at(event);
    else {
      activity.closedAt = at(event);
      activity.outcome = step.kind;
    }
  }
  // Map order is scheduling order: event ids grow through the history.
  return { activities: [...byScheduledId.values()], continuedFrom };
}

const times = (a: ScheduledActivity): ActivityTimes => ({ scheduledAt: a.scheduledAt, startedAt: a.startedAt, closedAt: a.closedAt, outcome: a.outcome });

/** The lease's periods, oldest first, across every run of its workflow. */
export async function settlementRounds(client: WorkflowClient, workflowId: string): Promise<PeriodRound[]> {
  const runs: ScheduledActivity[][] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.getHandle(workflowId, runId).fetchHistory();
    const { activities, continuedFrom } = activitiesOf(history.events ?? []);
    runs.unshift(activities);
    if (continuedFrom === null) break;
    runId = continuedFrom;
  }

  const rounds = new Map<number, PeriodRound>();
  let current: PeriodRound | undefined;
  for (const activity of runs.flat()) {
    const period = typeof activity.input?.period === 'number' ? activity.input.period : undefined;
    const endsAt = activity.input?.endsAt;
    // The lease's last close (no next period) is paid by the escrow's close, not a period's settlement.
    if (activity.name === 'closePeriod' && period !== undefined && typeof endsAt === 'number' && activity.input?.nextPeriod !== null) {
      current = { period, until: endsAt, close: times(activity), settle: null };
      rounds.set(period, current);
    } else if (activity.name === 'settlePeriod' && period !== undefined && current) {
      // A period's settlement follows its close, before the next period's close.
      current.settle = { ...times(activity), chainPeriod: period };
    }
  }
  return [...rounds.values()].sort((a, b) => a.period - b.period);
}
