/**
 * Temporal history events per lease per settlement period (DESIGN §6): constant in the GPU count and
 * the proof interval, because hosts report to the API, not to Temporal, and a period is one timer, one
 * closePeriod marker and one settlement. For each proof interval one engine (one host of 8 GPUs); for each GPU
 * count one lease that runs several periods; the events between its first and last period close,
 * divided by the periods between them; the claim is that this figure is the same in every row. Prints JSON.
 *
 *   npm run bench:history -- [--gpus 1,4,8] [--proof-intervals 1,2] [--periods 4] [--period 5]
 */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import Docker from 'dockerode';
import { leaseWorkflowId } from '../workflows/messages';
import { startBenchEngine } from './support/bench-engine';
import type { TestEngine } from './support/bench-engine';
import { cancelAndDrain, createLease, pollLease } from './support/leases';
import { localActivityOf } from './support/local-activity';
import { log, runBenchmark, sleep } from './support/lifecycle';
import { finishMachineInfo, machineInfo } from './support/machine';

const cli = new Command()
  .option('--gpus <counts>', 'GPU counts per lease, comma-separated', (v) => v.split(',').map(Number), [1, 4, 8])
  .option('--proof-intervals <seconds>', 'proof intervals, comma-separated', (v) => v.split(',').map(Number), [1, 2])
  .option('--periods <n>', 'settlement periods measured per lease', (v) => Number(v), 4)
  .option('--period <seconds>', 'settlement period length', (v) => Number(v), 5)
  .parse();
const opts = cli.opts<{ gpus: number[]; proofIntervals: number[]; periods: number; period: number }>();

const decoder = new TextDecoder();

/** temporal.api.enums.v1.EventType numbers of the events a period can hold. */
const EVENT_NAMES: Record<number, string> = {
  5: 'WorkflowTaskScheduled', 6: 'WorkflowTaskStarted', 7: 'WorkflowTaskCompleted', 10: 'ActivityTaskScheduled',
  11: 'ActivityTaskStarted', 12: 'ActivityTaskCompleted', 13: 'ActivityTaskFailed', 14: 'ActivityTaskTimedOut',
  17: 'TimerStarted', 18: 'TimerFired', 25: 'MarkerRecorded', 26: 'WorkflowExecutionSignaled', 27: 'WorkflowExecutionTerminated',
  40: 'UpsertWorkflowSearchAttributes', 47: 'WorkflowExecutionUpdateAccepted', 48: 'WorkflowExecutionUpdateCompleted',
};

interface Row {
  gpuCount: number;
  proofIntervalSeconds: number;
  periodsMeasured: number;
  eventsPerPeriod: number;
  /** Events from the workflow's start to the lease running (reserve, escrow, dispatch). */
  startEvents: number;
  /** Event types seen in one period, with their counts (the shape of a period). */
  periodShape: Record<string, number>;
}

async function measureLease(engine: TestEngine, docker: Docker, gpuCount: number, proofIntervalSeconds: number): Promise<Row> {
  const leaseId = await createLease(engine, 'H100', gpuCount);
  await pollLease(engine, leaseId, (l) => l.status === 'running', 60_000, 'lease running');
  await sleep((opts.periods + 1.5) * opts.period * 1000);
  const history = await engine.temporal.client.workflow.getHandle(leaseWorkflowId(leaseId)).fetchHistory();
  await cancelAndDrain(engine, docker, leaseId);

  const events = history.events ?? [];
  const closes: number[] = [];
  let runningAt = -1;
  events.forEach((event, index) => {
    const local = localActivityOf(event);
    // The lease's last close (no next period) is part of its end, not a period.
    if (local?.type === 'closePeriod' && local.result?.nextPeriod !== null) closes.push(index);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (!scheduled) return;
    const data = scheduled.input?.payloads?.[0]?.data;
    const input = data ? (JSON.parse(decoder.decode(data)) as { status?: string }) : {};
    if (scheduled.activityType?.name === 'recordLeaseStatus' && input.status === 'running' && runningAt < 0) runningAt = index;
  });
  if (closes.length < 2) throw new Error(`lease ${leaseId} closed ${closes.length} periods; run longer`);
  const first = closes[0]!;
  const last = closes[closes.length - 1]!;
  const periodShape: Record<string, number> = {};
  for (const event of events.slice(closes[closes.length - 2]!, last)) {
    const type = EVENT_NAMES[Number(event.eventType)] ?? `EventType ${String(event.eventType)}`;
    periodShape[type] = (periodShape[type] ?? 0) + 1;
  }
  return {
    gpuCount,
    proofIntervalSeconds,
    periodsMeasured: closes.length - 1,
    eventsPerPeriod: (last - first) / (closes.length - 1),
    startEvents: runningAt + 1,
    periodShape,
  };
}

runBenchmark('history-events bench', async () => {
  const docker = new Docker();
  const machine = await machineInfo(docker);
  const rows: Row[] = [];
  for (const proofIntervalSeconds of opts.proofIntervals) {
    const tag = randomBytes(3).toString('hex');
    const { engine, stop } = await startBenchEngine(docker, {
      hosts: [{ hostId: `bench-he-${tag}`, provider: `bench-he-${tag}-p`, tier: 1, gpus: `H100:80:2.00x${Math.max(...opts.gpus)}` }],
      heartbeatTimeoutSeconds: Math.max(4, proofIntervalSeconds * 2),
      proofIntervalSeconds,
      settlementPeriodSeconds: opts.period,
      queueTimeoutSeconds: 30,
      depositWindowPeriods: 2,
    });
    try {
      for (const gpuCount of opts.gpus) {
        const row = await measureLease(engine, docker, gpuCount, proofIntervalSeconds);
        log.info(row, 'history events measured');
        rows.push(row);
      }
    } finally {
      await stop();
    }
  }
  const perPeriod = rows.map((r) => r.eventsPerPeriod);
  return {
    benchmark: 'history-events',
    date: new Date().toISOString(),
    machine: finishMachineInfo(machine),
    setup: { settlementPeriodSeconds: opts.period, periodsPerLease: opts.periods, image: 'lease-engine/busybox:local sleeping forever' },
    rows,
    target: {
      rule: 'history events per lease per period do not grow with the GPU count or the proof interval',
      min: Math.min(...perPeriod),
      max: Math.max(...perPeriod),
      met: Math.max(...perPeriod) === Math.min(...perPeriod),
    },
  };
});
