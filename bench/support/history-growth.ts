/**
 * How a lease's Temporal history grows: the events per settlement period of its current run (between
 * its first and last closePeriod marker, so the start and the close are left out), the run's length, and the
 * runs it took (continue-as-new keeps each one bounded, DESIGN §2.7).
 */
import type { WorkflowClient } from '@temporalio/client';
import { localActivityOf } from './local-activity';

export interface HistoryGrowth {
  /** null with fewer than two periods closed in the current run. */
  eventsPerPeriod: number | null;
  periodsInRun: number;
  eventsInRun: number;
  /** True when the run began by continue-as-new. */
  continuedAsNew: boolean;
}

export async function historyGrowth(client: WorkflowClient, workflowId: string): Promise<HistoryGrowth> {
  const history = await client.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const closes: number[] = [];
  events.forEach((event, index) => {
    const local = localActivityOf(event);
    // The lease's last close (no next period) is part of its end, not a period.
    if (local?.type === 'closePeriod' && local.result?.nextPeriod !== null) closes.push(index);
  });
  const first = closes[0];
  const last = closes[closes.length - 1];
  return {
    eventsPerPeriod: first !== undefined && last !== undefined && closes.length > 1 ? Math.round(((last - first) / (closes.length - 1)) * 10) / 10 : null,
    periodsInRun: closes.length,
    eventsInRun: events.length,
    continuedAsNew: Boolean(events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId),
  };
}
