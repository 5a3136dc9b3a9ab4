/**
 * The control worker's `/metrics` (Prometheus text, on METRICS_PORT): process metrics, what its fleet
 * monitor did, and what its activities timed (failovers, settlement lag). Counters and histograms are
 * this process's own: sum them over workers in PromQL.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ControlActivityMetrics } from '../../activities/activity-metrics';
import { FAILOVER_BUCKETS_SECONDS } from '../../domain/failover-timing';
import type { FaultKind } from '../../infra/db/repositories/fleet.repo';
import { createMetricsRegistry, METRIC_PREFIX } from '../../infra/metrics/registry';
import type { FleetMonitorMetrics } from './fleet-monitor';

/** Assignments remembered as already failed over, so a re-signalled fault is not a second failover. */
const REMEMBERED_ASSIGNMENTS = 10_000;
const FAULT_KINDS: readonly FaultKind[] = ['host_lost', 'host_unhealthy', 'container_exited'];

/**
 * Settlement lag, seconds: a settle is sent once its period closed and its receipts were digested, and confirms
 * within seconds on a healthy chain; a transaction that never lands is replaced after its blockhash expires
 * (about a minute), and a chain outage is retried for minutes.
 */
const SETTLEMENT_LAG_BUCKETS_SECONDS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

export interface ControlMetrics extends FleetMonitorMetrics, ControlActivityMetrics {
  registry: Registry;
}

export function createControlMetrics(opts: { processMetrics?: boolean } = {}): ControlMetrics {
  const registry = createMetricsRegistry(opts);
  const failovers = new Counter({
    name: `${METRIC_PREFIX}failovers_total`,
    help: 'Assignments whose fault was signalled to their lease workflow for replacement (first signal only)',
    registers: [registry],
  });
  const faults = new Counter({
    name: `${METRIC_PREFIX}faults_signalled_total`,
    help: 'Assignment fault signals delivered to lease workflows, re-signals included, by kind',
    labelNames: ['kind'] as const, registers: [registry],
  });
  const hostsLost = new Counter({
    name: `${METRIC_PREFIX}hosts_lost_total`,
    help: 'Hosts marked lost: no report within the heartbeat timeout',
    registers: [registry],
  });
  const massSilenceTicks = new Counter({
    name: `${METRIC_PREFIX}fleet_mass_silence_ticks_total`,
    help: 'Fleet monitor ticks that judged no host because most of the fleet was silent at once (the API or network, not the hosts)',
    registers: [registry],
  });
  const judgedTimeout = new Gauge({
    name: `${METRIC_PREFIX}fleet_judged_timeout_seconds`,
    help: 'The silence after which the fleet monitor last judged a host: the heartbeat timeout, more while the fleet as a whole is heard late',
    registers: [registry],
  });
  const failoverDuration = new Histogram({
    name: `${METRIC_PREFIX}failover_duration_seconds`,
    help: 'From the fault signalled on an assignment (host lost or unhealthy) to its replacement reported running',
    buckets: FAILOVER_BUCKETS_SECONDS, registers: [registry],
  });
  const settlementLag = new Histogram({
    name: `${METRIC_PREFIX}settlement_lag_seconds`,
    help: 'From the end of a settlement period to its settlement transaction confirmed (periods that sent one)',
    buckets: SETTLEMENT_LAG_BUCKETS_SECONDS, registers: [registry],
  });
  // Every kind shows from the first scrape, at 0: rate() and absent() need the series to exist.
  for (const kind of FAULT_KINDS) faults.inc({ kind }, 0);
  const signalled = new Set<string>();

  return {
    registry,
    failoverCompleted(seconds) {
      failoverDuration.observe(seconds);
    },
    settlementConfirmed(seconds) {
      settlementLag.observe(seconds);
    },
    hostsLost(count) {
      hostsLost.inc(count);
    },
    massSilence() {
      massSilenceTicks.inc();
    },
    judgedTimeout(seconds) {
      judgedTimeout.set(seconds);
    },
    faultSignalled({ assignmentId, kind }) {
      faults.inc({ kind: FAULT_KINDS.includes(kind) ? kind : 'other' });
      if (signalled.has(assignmentId)) return;
      signalled.add(assignmentId);
      if (signalled.size > REMEMBERED_ASSIGNMENTS) signalled.delete(signalled.values().next().value!);
      failovers.inc();
    },
  };
}
