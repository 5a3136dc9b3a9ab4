/**
 * Assignments from the workflow's side (DESIGN §2.3–2.5): the workflow writes what hosts must run and
 * reads what they reported; it never talks to a host. Hosts reach only the API, which verifies and
 * stores their reports; these activities read the result. Each is idempotent on its natural key.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { receiptsDigest } from '../domain/billing';
import { failoverSeconds, replacedFaultAt } from '../domain/failover-timing';
import { startDeadlineExtensionSeconds } from '../domain/fleet-silence';
import type { Database } from '../infra/db/schema';
import {
  GpuAlreadyAssignedError,
  closePeriod as closePeriodRecord,
  containerOutcomes,
  endAssignment,
  openAssignments as openAssignmentRecords,
  rankPredecessors,
} from '../infra/db/repositories/assignments.repo';
import { markHostUnhealthy, recordHostEvent } from '../infra/db/repositories/host-events.repo';
import type { ControlActivityMetrics } from './activity-metrics';
import type { AwaitRunningInput, AwaitRunningResult, ControlActivities } from './contracts';
import { readFleetJudgement } from './fleet-judgement';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
  /** How often awaitContainersRunning looks at the hosts' reports. */
  pollMs?: number;
  /** How long a host that left a dispatch unstarted stays out of placement. */
  unhealthySeconds?: number;
  /** Told how long each failover took, once its replacement runs. */
  metrics?: Pick<ControlActivityMetrics, 'failoverCompleted'>;
}

export type AssignmentActivities = Pick<
  ControlActivities,
  'openAssignments' | 'awaitContainersRunning' | 'closeAssignment' | 'closePeriod' | 'recordHostFault'
>;

export function createAssignmentActivities({ db, log, pollMs = 100, unhealthySeconds = 600, metrics }: Deps): AssignmentActivities {
  /**
   * Here, not in the workflow (which must stay free of I/O): this activity is what sees a replacement run. A
   * retried attempt observes again, which needs a failure after its last read: rare enough for a histogram.
   */
  async function observeFailovers(running: { assignmentId: string; runningAt: number }[]): Promise<void> {
    try {
      const ranks = await rankPredecessors(db, running.map((r) => r.assignmentId));
      for (const { assignmentId, runningAt } of running) {
        const rank = ranks.get(assignmentId);
        const faultAt = rank === undefined ? null : replacedFaultAt(rank.epoch, rank.predecessors);
        if (faultAt !== null) metrics?.failoverCompleted(failoverSeconds(faultAt, runningAt));
      }
    } catch (err) {
      // A metric is never worth failing a dispatch over.
      log?.warn({ err }, 'could not time the failovers of a dispatch');
    }
  }

  return {
    async openAssignments(input) {
      try {
        await openAssignmentRecords(db, input);
      } catch (error) {
        if (error instanceof GpuAlreadyAssignedError) throw ApplicationFailure.nonRetryable(error.message, 'GpuAlreadyAssigned');
        throw error;
      }
    },

    /**
     * Waits until every container is reported running, or its host reported it cannot run it, or the
     * deadline passes. One activity for all of a dispatch's containers: the history does not grow
     * with the GPU count.
     */
    async awaitContainersRunning(input: AwaitRunningInput): Promise<AwaitRunningResult> {
      const context = Context.current();
      let deadline = input.deadline;
      let extended = input.heartbeatTimeoutSeconds === undefined;
      for (;;) {
        const outcomes = await containerOutcomes(db, input.assignmentIds);
        const running = outcomes.filter((o) => o.runningAt !== null);
        // A host that reports the container not running before it ever started (a container that ran and
        // exited counts as started: see hasStarted) has given up on it.
        const refused = outcomes.filter((o) => o.runningAt === null && o.reportedState !== null && o.reportedState !== 'running');
        const pending = outcomes.filter((o) => o.runningAt === null && !refused.includes(o));
        if (pending.length > 0 && Date.now() >= deadline && !extended) {
          // Judged as the fleet monitor judges silence: a host is not unhealthy for reports the engine was too
          // slow (or away) to hear. Once per attempt, so a dead host is replaced at most a timeout later.
          extended = true;
          const timeout = input.heartbeatTimeoutSeconds!;
          const judgement = await readFleetJudgement(db, timeout);
          const extra = startDeadlineExtensionSeconds(timeout, judgement);
          if (extra > 0) {
            deadline += extra * 1000;
            log?.info({ assignmentIds: pending.map((o) => o.assignmentId), extraSeconds: extra, heldBy: judgement.heldBy },
              'dispatch deadline moved on: the fleet is heard late');
          }
        }
        if (pending.length === 0 || Date.now() >= deadline) {
          if (metrics) await observeFailovers(running.map((o) => ({ assignmentId: o.assignmentId, runningAt: o.runningAt as number })));
          return {
            running: running.map((o) => ({ assignmentId: o.assignmentId, runningAt: o.runningAt as number })),
            notRunning: [
              ...refused.map((o) => ({
                assignmentId: o.assignmentId,
                hostId: o.hostId,
                timedOut: false,
                reason: `host ${o.hostId} reported the container ${o.reportedState}${o.reportedDetail ? `: ${o.reportedDetail}` : ''}`,
              })),
              ...pending.map((o) => ({
                assignmentId: o.assignmentId,
                hostId: o.hostId,
                timedOut: true,
                reason: `host ${o.hostId} did not report the container running in time`,
              })),
            ],
          };
        }
        context.heartbeat();
        await context.sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
      }
    },

    async closeAssignment(input) {
      await endAssignment(db, input);
    },

    async closePeriod(input) {
      const totals = await closePeriodRecord(db, input);
      return { period: input.period, endsAt: input.endsAt, nextPeriod: input.next?.period ?? null, verified: totals.verified, receiptsDigest: receiptsDigest(totals.receiptHashes), receipts: totals.receiptHashes.length };
    },

    async recordHostFault(input) {
      if (input.unhealthy) {
        await markHostUnhealthy(db, { ...input, seconds: unhealthySeconds });
        log?.warn({ hostId: input.hostId, kind: input.kind, detail: input.detail }, 'host marked unhealthy');
      } else {
        await recordHostEvent(db, input);
      }
    },
  };
}
