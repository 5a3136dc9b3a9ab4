/**
 * Local activities in a workflow history. Each is one marker (`core_local_activity`, written by the SDK's core)
 * that keeps the activity's type, when the worker scheduled it and when it completed (the worker's clock), and
 * its result; not its input. The lease workflow's closePeriod runs this way (workflows/activity-stubs.ts), and
 * its result says which period it closed.
 */
import type { History } from '@temporalio/common/lib/proto-utils';

type HistoryEvent = NonNullable<History['events']>[number];

export interface LocalActivityRecord {
  type: string;
  /** Unix ms on the worker's clock; null where the marker does not say. */
  scheduledAt: number | null;
  /**
   * Not a clock reading: the start of the workflow task that ran it (the server's WorkflowTaskStarted time) plus
   * how long it ran, so that a replay sees the same time. Less that task's start, it is the activity's run.
   */
  perceivedCompleteAt: number | null;
  /** The result's first payload as JSON; undefined for a failed one. */
  result: Record<string, unknown> | undefined;
}

const MARKER = 'core_local_activity';
const decoder = new TextDecoder();

function json(data: Uint8Array | null | undefined): Record<string, unknown> | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(decoder.decode(data)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A protobuf Timestamp as serde writes it ({seconds, nanos}) or as RFC 3339 text. */
function timestampMs(value: unknown): number | null {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (value && typeof value === 'object' && 'seconds' in value) {
    const { seconds, nanos } = value as { seconds: number | string; nanos?: number };
    return Number(seconds) * 1000 + Math.floor((nanos ?? 0) / 1e6);
  }
  return null;
}

export function localActivityOf(event: HistoryEvent): LocalActivityRecord | null {
  const marker = event.markerRecordedEventAttributes;
  if (!marker || marker.markerName !== MARKER) return null;
  const data = json(marker.details?.data?.payloads?.[0]?.data);
  const type = data?.activity_type ?? data?.activityType;
  if (typeof type !== 'string') return null;
  return {
    type,
    scheduledAt: timestampMs(data?.original_schedule_time ?? data?.originalScheduleTime),
    perceivedCompleteAt: timestampMs(data?.complete_time ?? data?.completeTime),
    result: json(marker.details?.result?.payloads?.[0]?.data),
  };
}
