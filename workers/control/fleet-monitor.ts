/**
 * The fleet monitor (DESIGN §2.5): one loop per control worker, not a timer or heartbeat per GPU. It
 * judges hosts by their reports to the API (stored in PostgreSQL): a host silent past the heartbeat
 * timeout, while the API was up to hear it, is lost; each running assignment with a fault is told to its
 * lease workflow as a signal.
 * Several monitors may run (one per control worker): faults are claimed in the database, so each is
 * signalled once per re-signal interval, and a signal is idempotent in the workflow anyway.
 * It also sweeps the container logs of leases that ended longer ago than their retention (every
 * `logSweepMs`; several monitors deleting the same rows is harmless).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { DEFAULT_LOG_POLICY } from '../../domain/container-logs';
import type { MassSilencePolicy } from '../../domain/fleet-silence';
import { DEFAULT_MASS_SILENCE } from '../../domain/fleet-silence';
import { readFleetJudgement } from '../../activities/fleet-judgement';
import { deleteLogsOfLeasesEndedBefore } from '../../infra/db/repositories/container-logs.repo';
import type { FaultKind } from '../../infra/db/repositories/fleet.repo';
import { claimFaults, holdFleetJudgement, markSilentHostsLost } from '../../infra/db/repositories/fleet.repo';
import type { Database } from '../../infra/db/schema';
import { assignmentFaultSignal, leaseWorkflowId } from '../../workflows/messages';

/** At most one "heard late" warning per this long (the state itself is the judged-timeout gauge). */
const LATE_WARNING_EVERY_MS = 60_000;

export interface FleetMonitorOptions {
  db: Kysely<Database>;
  client: Client;
  heartbeatTimeoutSeconds: number;
  tickMs?: number;
  /** A fault still there after this long is signalled again. */
  resignalSeconds?: number;
  log?: Logger;
  /** Told what the monitor did (workers/control/metrics.ts counts it for `/metrics`). */
  metrics?: FleetMonitorMetrics;
  /** Container logs of a lease are deleted this long after it ended (7 days), swept every `logSweepMs` (10 min). */
  logRetentionMs?: number;
  logSweepMs?: number;
  /** When this much of the fleet is silent at once, the silence is the engine's: no host is judged. */
  massSilence?: MassSilencePolicy;
}

/** A sink for the monitor's counts; each call is synchronous and must not throw. */
export interface FleetMonitorMetrics {
  hostsLost(count: number): void;
  /** A tick that held its judgement because most of the fleet was silent at once. */
  massSilence?(): void;
  /** The silence after which this tick judged a host: the heartbeat timeout, or more when the fleet is heard late. */
  judgedTimeout?(seconds: number): void;
  /** A fault signal delivered to its lease's workflow (not one to a lease that already ended). */
  faultSignalled(fault: { assignmentId: string; kind: FaultKind }): void;
}

export interface FleetMonitor {
  stop(): Promise<void>;
}

export function startFleetMonitor({
  // A tenth of the timeout (within 250 ms–1 s): a judgement at most that late, for a few queries a tick.
  db, client, heartbeatTimeoutSeconds, tickMs = Math.min(1_000, Math.max(250, heartbeatTimeoutSeconds * 100)), resignalSeconds = 10, log, metrics,
  logRetentionMs = DEFAULT_LOG_POLICY.retainAfterEndMs, logSweepMs = 600_000, massSilence = DEFAULT_MASS_SILENCE,
}: FleetMonitorOptions): FleetMonitor {
  let stopped = false;
  let holding = false;
  let judgedTimeout = heartbeatTimeoutSeconds;
  let lateWarnedAt = Number.NEGATIVE_INFINITY;
  let lateWarned = false;
  let wake: (() => void) | null = null;
  let logsSweptAt = 0;

  /** Ended leases' logs past retention: in batches, a few per sweep, so one sweep never holds the loop long. */
  async function sweepLogs(): Promise<void> {
    if (Date.now() - logsSweptAt < logSweepMs) return;
    logsSweptAt = Date.now();
    let deleted = 0;
    for (let batch = 0; batch < 10; batch += 1) {
      const lines = await deleteLogsOfLeasesEndedBefore(db, new Date(Date.now() - logRetentionMs));
      if (lines === 0) break;
      deleted += lines;
    }
    if (deleted > 0) log?.info({ lines: deleted }, 'container logs of leases ended past retention deleted');
  }

  async function tick(): Promise<void> {
    // Hosts report through the API: after an API outage they get a whole timeout to be heard again, before
    // their silence counts as lost or their missing receipts as proving nothing. Most of the fleet silent at
    // once is the engine's failure, and a fleet behind by its median gives each host that much more
    // (domain/fleet-silence.ts).
    const judgement = await readFleetJudgement(db, heartbeatTimeoutSeconds, massSilence);
    // Each provider's part, for the log: the largest 10 (a fleet may have thousands of providers).
    const largest = (parts: readonly { late: number }[] = []) => [...parts].sort((a, b) => b.late - a.late).slice(0, 10);
    const { byProvider, ...hostSilence } = judgement.silence;
    const silence = { ...hostSilence, silentByProvider: largest(byProvider), runningAssignments: judgement.proofs.running,
      unprovenAssignments: judgement.proofs.unproven, medianReceiptLatenessSeconds: judgement.proofs.medianLatenessSeconds,
      unprovenByProvider: largest(judgement.proofs.byProvider) };
    const mass = judgement.heldBy === 'mass_silence';
    // Renewed while it lasts: every monitor then holds for a whole timeout after the fleet is heard again.
    if (mass) await holdFleetJudgement(db, judgement.timeoutSeconds);
    const heard = judgement.heard;
    const timeout = judgement.timeoutSeconds;
    if (judgement.heldBy !== 'api') {
      if (mass) metrics?.massSilence?.();
      metrics?.judgedTimeout?.(timeout);
      if (mass !== holding) {
        if (mass) log?.error(silence, 'most of the fleet is silent at once, or misses its receipts at once: holding judgement of hosts until it is heard again');
        else log?.info(silence, 'most of the fleet is heard again: judging hosts after a whole timeout more');
      }
      if ((timeout > heartbeatTimeoutSeconds) !== (judgedTimeout > heartbeatTimeoutSeconds)) {
        // A loaded engine's median hovers at the threshold and flips every few ticks: one warning a minute
        // (with its matching all-clear) says it; the gauge has every tick.
        if (timeout > heartbeatTimeoutSeconds && Date.now() - lateWarnedAt >= LATE_WARNING_EVERY_MS) {
          lateWarnedAt = Date.now();
          lateWarned = true;
          log?.warn({ ...silence, judgedTimeoutSeconds: timeout }, 'the fleet as a whole is heard late: hosts are judged after a longer silence');
        } else if (timeout === heartbeatTimeoutSeconds && lateWarned) {
          lateWarned = false;
          log?.info(silence, 'the fleet is heard on time again: hosts are judged at the heartbeat timeout');
        }
      }
      holding = mass;
      judgedTimeout = timeout;
    }
    if (heard) {
      const lost = await markSilentHostsLost(db, timeout);
      if (lost.length > 0) metrics?.hostsLost(lost.length);
      if (lost.length > 0) log?.warn({ hostIds: lost, timeoutSeconds: timeout }, 'hosts lost: no report within the heartbeat timeout');
    }
    for (const fault of await claimFaults(db, resignalSeconds, heard ? judgement.proofTimeoutSeconds : null)) {
      const { leaseId, ...signal } = fault;
      try {
        await client.workflow.getHandle(leaseWorkflowId(leaseId)).signal(assignmentFaultSignal, signal);
        metrics?.faultSignalled(signal);
        log?.info({ leaseId, ...signal }, 'assignment fault signalled');
      } catch (err) {
        // A lease that already ended has nothing to replace.
        if (!(err instanceof WorkflowNotFoundError)) log?.warn({ err, leaseId, ...signal }, 'could not signal an assignment fault');
      }
    }
    await sweepLogs();
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await tick();
      } catch (err) {
        // PostgreSQL or Temporal away: judge again at the next tick rather than stop watching.
        log?.warn({ err }, 'fleet monitor tick failed');
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, tickMs);
      });
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
