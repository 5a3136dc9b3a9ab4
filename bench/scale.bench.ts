/**
 * Scale (DESIGN §6, issue 9 item 3): N concurrent 1-GPU leases with 60 s periods, their hosts played by
 * the fleet simulator (one process, the real host protocol, no containers). Reports leases started per
 * second, settlement lag p50/p99, missed and late periods, Temporal history events per lease per period,
 * CPU seconds per minute and memory of each process, API requests per second, and a floor measured in
 * the same run: the same processes idle (hosts registered, no lease), and, under the load, a bare
 * confirmed transaction on the same chain node and a `select 1` on the same database. Prints one JSON
 * object on stdout.
 *
 *   npm run -s bench:scale -- --leases 100 [--period 60] [--periods 3] [--proof-interval 5] [--topology embedded|cluster]
 *
 * The stacks and which processes each part counts: bench/support/scale-stack.ts.
 */
import os from 'node:os';
import path from 'node:path';
import { SystemProgram, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import type { ChildProcess } from 'node:child_process';
import { Command, InvalidArgumentError, Option } from 'commander';
import { sql } from 'kysely';
import { isTerminal } from '../domain/lease';
import type { LeaseStatus } from '../domain/lease';
import { createProvider } from '../infra/db/repositories/providers.repo';
import { METRIC_PREFIX } from '../infra/metrics/registry';
import { leaseWorkflowId } from '../workflows/messages';
import { Limiter } from '../workers/fleet-simulator/limiter';
import { DEMO_IMAGE, SLEEP_FOREVER, waitFor } from '../test/support/engine';
import { historyGrowth } from './support/history-growth';
import { log, runBenchmark, sleep } from './support/lifecycle';
import { percentiles } from './support/percentiles';
import type { UsageSample } from './support/process-usage';
import { sampleUsage, usageBetween } from './support/process-usage';
import { scrapeCounter } from './support/prometheus';
import type { ScaleStack } from './support/scale-stack';
import { spawnTs, startClusterStack, startEmbeddedStack } from './support/scale-stack';
import type { LagSample } from './support/settlement-lag';
import { leaseSettlements } from './support/settlement-lag';
import { settlementRounds } from './support/settlement-rounds';

const TARGET_P99_MS = 5_000;
const GPU_MODEL = 'H100';
const REQUESTS = `${METRIC_PREFIX}http_requests_total`;
const SHED = `${METRIC_PREFIX}host_reports_shed_total`;
const ENDED: LeaseStatus[] = ['completed', 'cancelled', 'failed'];

const int = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
  return n;
};
const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
};

const opts = new Command()
  .option('--leases <n>', 'concurrent 1-GPU leases', int(1), 100)
  .option('--period <seconds>', 'settlement period (DESIGN: 60; the engine takes 5 to 3600)', int(5), 60)
  .option('--periods <n>', 'periods every lease is held running once the last one runs', int(1), 3)
  .option('--proof-interval <seconds>', 'proof receipt interval', int(1), 5)
  .option('--heartbeat-timeout <seconds>', 'a host silent this long is lost', int(3), 10)
  .option('--gpus-per-host <n>', 'simulated GPUs per host (hosts = leases / this, rounded up)', int(1), 1)
  .option('--providers <n>', 'tier-1 providers the hosts are spread over', int(1), 10)
  .option('--report-interval <seconds>', 'simulated hosts report at least this often', positive, 3)
  .option('--start-concurrency <n>', 'lease POSTs in flight at most', int(1), 16)
  .option('--simulator-concurrency <n>', 'reports in flight at most in the fleet simulator', int(1), 64)
  .option('--history-sample <n>', 'leases whose histories are read for events per period', int(1), 50)
  .option('--idle-seconds <n>', 'the floor: seconds the stack is measured idle first', int(5), 20)
  .addOption(new Option('--topology <kind>', 'embedded (dev server, one control worker) or cluster').choices(['embedded', 'cluster']).default('embedded'))
  .parse()
  .opts<{
    leases: number; period: number; periods: number; proofInterval: number; heartbeatTimeout: number; gpusPerHost: number;
    providers: number; reportInterval: number; startConcurrency: number; simulatorConcurrency: number; historySample: number;
    idleSeconds: number; topology: 'embedded' | 'cluster';
  }>();

const hostCount = Math.ceil(opts.leases / opts.gpusPerHost);

/** The processes of one part, as their parent pid (each part is that process and its descendants). */
type Parts = Record<string, number | undefined>;
/** Looked up at every sample: a supervised process that restarts gets a new pid. */
type PartsOf = () => Parts;

/** The last `fleet` statistics line the simulator logged. */
function followFleetStats(child: ChildProcess): () => Record<string, unknown> | null {
  let last: Record<string, unknown> | null = null;
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"stats"')) continue;
      try {
        last = (JSON.parse(line) as { stats: Record<string, unknown> }).stats;
      } catch {
        // not a pino line
      }
    }
  });
  return () => last;
}

async function countLeases(stack: ScaleStack, leaseIds: string[], statuses: LeaseStatus[]): Promise<number> {
  const row = await stack.db.selectFrom('leases').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('id', 'in', leaseIds).where('status', 'in', statuses).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Floor probes: a bare confirmed transaction on the chain node and a `select 1`, taken under the same load. */
class FloorProbes {
  readonly chainTransferMs: number[] = [];
  readonly dbSelect1Ms: number[] = [];
  chainFailures = 0;

  constructor(private readonly stack: ScaleStack) {}

  async probe(): Promise<void> {
    let started = performance.now();
    await sql`select 1`.execute(this.stack.db);
    this.dbSelect1Ms.push(performance.now() - started);
    started = performance.now();
    try {
      // One lamport to itself: a signature and a system-program instruction, nothing of the lease program.
      const payer = this.stack.floorPayer;
      const tx = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: payer.publicKey, lamports: 1 }));
      await sendAndConfirmTransaction(this.stack.connection, tx, [payer], { commitment: 'confirmed' });
      this.chainTransferMs.push(performance.now() - started);
    } catch (error) {
      this.chainFailures += 1;
      log.warn({ err: error }, 'floor transaction failed');
    }
  }

  summary() {
    return {
      chainTransferMs: this.chainTransferMs.length > 0 ? percentiles(this.chainTransferMs) : null,
      chainTransferFailures: this.chainFailures,
      dbSelect1Ms: this.dbSelect1Ms.length > 0 ? percentiles(this.dbSelect1Ms) : null,
    };
  }
}

/** Busy share of all the machine's cores (every process, other work included) from /proc/stat. */
async function machineBusy(): Promise<{ busy: number; total: number }> {
  const { readFile } = await import('node:fs/promises');
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
const busyShare = (a: { busy: number; total: number }, b: { busy: number; total: number }) =>
  Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 1000) / 1000;

/** Samples usage every 5 s and probes the floor every 2 s for `ms`, logging progress. */
async function observe(ms: number, parts: PartsOf, probes: FloorProbes, onTick?: () => Promise<void>): Promise<UsageSample[]> {
  const samples: UsageSample[] = [];
  const until = Date.now() + ms;
  let lastSample = 0;
  while (Date.now() < until) {
    await probes.probe();
    if (Date.now() - lastSample >= 5_000) {
      samples.push(sampleUsage(parts()));
      lastSample = Date.now();
      await onTick?.();
    }
    await sleep(Math.min(2_000, Math.max(0, until - Date.now())));
  }
  return samples;
}

/** A customer's request to the API, as a customer's script sends it. */
async function request(url: string, method: string, body: unknown, apiKey: string): Promise<{ status: number; body: { id?: string } & Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as { id?: string }) : {} };
}

const sumCounters = async (urls: string[], name = REQUESTS): Promise<number> =>
  (await Promise.all(urls.map((url) => scrapeCounter(url, name)))).reduce((a, b) => a + b, 0);

runBenchmark('scale bench', async () => {
  const timings = {
    heartbeatTimeoutSeconds: opts.heartbeatTimeout, proofIntervalSeconds: opts.proofInterval,
    settlementPeriodSeconds: opts.period, queueTimeoutSeconds: 300,
  };
  const stack = opts.topology === 'cluster' ? await startClusterStack(timings) : await startEmbeddedStack(timings);
  const providers = [];
  for (let i = 0; i < opts.providers; i += 1) providers.push(await createProvider(stack.db, `scale-p${i}-${Date.now()}`, 1));
  const simulator = spawnTs('fleet-simulator', 'workers/fleet-simulator/main.ts', [
    '--hosts', String(hostCount), '--api-url', stack.hostApiUrl, '--host-prefix', 'scale',
    '--gpus', `${GPU_MODEL}:80:2.00x${opts.gpusPerHost}`, '--key-dir', path.join(os.tmpdir(), `lease-engine-scale-keys-${process.pid}`),
    '--report-interval', String(opts.reportInterval), '--concurrency', String(opts.simulatorConcurrency), '--stats-interval', '5',
  ], { PATH: process.env.PATH, HOME: process.env.HOME, PROVIDER_KEYS: providers.map((p) => p.apiKey).join(','), LOG_LEVEL: 'info' });
  const fleetStats = followFleetStats(simulator);
  const registeringSince = Date.now();
  await waitFor(async () => {
    if (simulator.exitCode !== null) throw new Error(`the fleet simulator exited (${simulator.exitCode})`);
    const row = await stack.db.selectFrom('hosts').select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'online').where('id', 'like', 'scale-%').executeTakeFirstOrThrow();
    return Number(row.n) === hostCount;
  }, 600_000, `${hostCount} simulated hosts online`);
  const hostsOnlineMs = Date.now() - registeringSince;
  log.info({ hosts: hostCount, ms: hostsOnlineMs }, 'simulated hosts online');

  const parts = (): Parts => ({ ...stack.parts(), fleetSimulator: simulator.pid });
  log.info({ parts: parts() }, 'processes measured');
  const idleProbes = new FloorProbes(stack);

  // The floor: the same processes with every host registered and polling, and no lease.
  const idleFrom = sampleUsage(parts());
  const idleSamples = await observe(opts.idleSeconds * 1000, parts, idleProbes);
  const idleUsage = usageBetween(idleFrom, sampleUsage(parts()), idleSamples);

  // Start every lease, a bounded number of POSTs at a time, spread over the customers.
  const limiter = new Limiter(opts.startConcurrency);
  const postMs: number[] = [];
  const startedAt = Date.now();
  const ownerOf = (i: number): string => stack.customerKeys[i % stack.customerKeys.length]!;
  const leaseIds = await Promise.all([...Array(opts.leases).keys()].map((i) => limiter.run(async () => {
    const sent = performance.now();
    const created = await request(`${stack.customerApiUrl}/v1/leases`, 'POST', {
      gpuModel: GPU_MODEL, gpuCount: 1, minTier: 1, maxPricePerGpuHour: '2.5', durationSeconds: 3600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
    }, ownerOf(i));
    postMs.push(performance.now() - sent);
    if (created.status !== 201 || typeof created.body.id !== 'string') throw new Error(`POST /v1/leases answered ${created.status}: ${JSON.stringify(created.body)}`);
    return created.body.id;
  })));
  const postedMs = Date.now() - startedAt;
  // Not every lease may get there: a saturated stack loses hosts and fails leases over. That is a result
  // too, so the hold goes on with what runs, and the output says how many did.
  const runningDeadline = Date.now() + 120_000 + opts.leases * 1_000;
  let runningAtHold = 0;
  while ((runningAtHold = await countLeases(stack, leaseIds, ['running'])) < leaseIds.length && Date.now() < runningDeadline) {
    if (runningAtHold + (await countLeases(stack, leaseIds, ENDED)) === leaseIds.length) break;
    await sleep(1_000);
  }
  const firstRun = await stack.db.selectFrom('leases').select((eb) => [eb.fn.max('started_at').as('last'), eb.fn.count<string>('started_at').as('n')])
    .where('id', 'in', leaseIds).executeTakeFirstOrThrow();
  const everStarted = Number(firstRun.n);
  const allStartedMs = firstRun.last ? new Date(firstRun.last as unknown as string).getTime() - startedAt : null;
  if (runningAtHold < leaseIds.length) log.warn({ leases: leaseIds.length, running: runningAtHold, everStarted }, 'not every lease runs: holding what does');
  else log.info({ leases: leaseIds.length, postedMs, allStartedMs }, 'every lease running');

  // The load: every lease held running for the given periods.
  const probes = new FloorProbes(stack);
  const requestsFrom = { host: await sumCounters(stack.metricsUrls.hosts), customer: await sumCounters(stack.metricsUrls.customers), shed: await sumCounters(stack.metricsUrls.hosts, SHED) };
  const busyFrom = await machineBusy();
  const loadFrom = sampleUsage(parts());
  const loadAverages: number[] = [];
  const confirmedSettlements = async () => Number((await stack.db.selectFrom('settlements').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('kind', '=', 'settle').where('status', '=', 'confirmed').where('lease_id', 'in', leaseIds).executeTakeFirstOrThrow()).n);
  const runningSamples: number[] = [];
  const confirmedFrom = await confirmedSettlements();
  const loadSamples = await observe(opts.periods * opts.period * 1000, parts, probes, async () => {
    loadAverages.push(os.loadavg()[0]!);
    runningSamples.push(await countLeases(stack, leaseIds, ['running']));
    log.info({ confirmedSettlements: await confirmedSettlements(), fleet: fleetStats() }, 'holding');
  });
  const loadTo = sampleUsage(parts());
  const busyTo = await machineBusy();
  const windowSeconds = (loadTo.at - loadFrom.at) / 1000;
  // Throughput while holding, against what the running leases owe: a stack that keeps up confirms one
  // settlement per lease per period. Logged now, so a run stopped in its (slow, saturated) cancels keeps it.
  const meanRunning = runningSamples.length > 0 ? runningSamples.reduce((a, b) => a + b, 0) / runningSamples.length : 0;
  const holdThroughput = {
    settlementsConfirmedPerSecond: Math.round(((await confirmedSettlements()) - confirmedFrom) / windowSeconds * 100) / 100,
    settlementsDuePerSecond: Math.round(meanRunning / opts.period * 100) / 100,
    meanLeasesRunning: Math.round(meanRunning),
  };
  log.info({ holdThroughput, fleet: fleetStats(), processes: usageBetween(loadFrom, loadTo, loadSamples) }, 'hold over');
  const requestsTo = { host: await sumCounters(stack.metricsUrls.hosts), customer: await sumCounters(stack.metricsUrls.customers), shed: await sumCounters(stack.metricsUrls.hosts, SHED) };
  const fleetAtEnd = fleetStats();
  const ended = await stack.db.selectFrom('leases').select(['id', 'status', 'end_reason']).where('id', 'in', leaseIds).execute();
  const endedEarly = ended.filter((l) => isTerminal(l.status as LeaseStatus)).map((l) => ({ leaseId: l.id, status: l.status, endReason: l.end_reason }));

  // Cancel everything, then read the ledger and the histories.
  // Cancels wait on each workflow's close: more of them in flight than starts, or a saturated stack takes an hour.
  const cancelLimiter = new Limiter(Math.max(opts.startConcurrency, 64));
  const cancels = await Promise.all(leaseIds.map((id, i) => cancelLimiter.run(async () => {
    // A cancel waits on the workflow's answer: one that never comes (a stuck lease) is a result, not a crash.
    const answer = await request(`${stack.customerApiUrl}/v1/leases/${id}/cancel`, 'POST', undefined, ownerOf(i))
      .catch((error: unknown) => ({ status: 0, body: { error: error instanceof Error ? `${error.message} (${String((error as { cause?: unknown }).cause)})` : String(error) } }));
    return { id, ...answer };
  })));
  const refused = cancels.filter((c) => c.status !== 200 && c.status !== 202 && c.status !== 409).map((c) => ({ leaseId: c.id, status: c.status, body: c.body }));
  if (refused.length > 0) log.warn({ refused: refused.slice(0, 5), count: refused.length }, 'cancels refused');
  const notEnded = await waitFor(async () => (await countLeases(stack, leaseIds, ENDED)) === leaseIds.length, 120_000 + opts.leases * 500, 'every lease ended')
    .then(() => [])
    .catch(async (error: unknown) => {
      const rows = await stack.db.selectFrom('leases').select(['id', 'status']).where('id', 'in', leaseIds).where('status', 'not in', ENDED).execute();
      log.warn({ err: error, notEnded: rows.slice(0, 10) }, 'some leases did not end after their cancel');
      return rows;
    });

  const samples: LagSample[] = [];
  let periodsWithoutSettlement = 0;
  const readLimiter = new Limiter(8);
  const unread: { leaseId: string; why: string }[] = [];
  await Promise.all(leaseIds.map((leaseId) => readLimiter.run(async () => {
    try {
      const rounds = await settlementRounds(stack.workflow, leaseWorkflowId(leaseId));
      const lease = await leaseSettlements(stack.db, leaseId, rounds, opts.period);
      samples.push(...lease.samples);
      periodsWithoutSettlement += lease.periodsWithoutSettlement;
    } catch (error) {
      // A lease that never ran has no periods: counted apart, the others still measured.
      unread.push({ leaseId, why: error instanceof Error ? error.message : String(error) });
    }
  })));
  const growth = await Promise.all(leaseIds.slice(0, opts.historySample).map((id) =>
    readLimiter.run(() => historyGrowth(stack.workflow, leaseWorkflowId(id)))));
  const perPeriod = growth.flatMap((g) => (g.eventsPerPeriod === null ? [] : [g.eventsPerPeriod]));
  const lag = samples.length > 0 ? percentiles(samples.map((s) => s.lagMs)) : null;
  const windowLag = samples.filter((s) => s.periodEnd >= loadFrom.at && s.periodEnd <= loadTo.at);

  const loadUsage = usageBetween(loadFrom, loadTo, loadSamples);
  const busiest = Object.entries(loadUsage).sort((a, b) => b[1].cpuCores - a[1].cpuCores)[0];
  return {
    benchmark: 'scale',
    date: new Date().toISOString(),
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version, loadAverageWhileHolding: loadAverages.length > 0 ? { min: Math.min(...loadAverages), max: Math.max(...loadAverages) } : null,
      /** Busy share of all cores while the leases were held, every process on the machine included. */
      busyShareWhileHolding: busyShare(busyFrom, busyTo),
    },
    setup: {
      topology: stack.topology,
      stack: `${stack.description}; hosts played by workers/fleet-simulator (one process)`,
      leases: opts.leases, gpusPerLease: 1, hosts: hostCount, gpusPerHost: opts.gpusPerHost, providers: opts.providers,
      ...timings, hostReportIntervalSeconds: opts.reportInterval, periodsHeld: opts.periods, startConcurrency: opts.startConcurrency,
      lag: 'settlements.confirmed_at − the end of the period it pays (closePeriod\'s endsAt)',
    },
    start: {
      hostsOnlineMs,
      postMs: percentiles(postMs),
      postedMs,
      /** First POST to the last lease's first `running` (started_at), over the leases that ever ran. */
      leasesEverRunning: everStarted,
      runningWhenTheHoldBegan: runningAtHold,
      lastStartedMs: allStartedMs,
      leasesStartedPerSecond: allStartedMs ? Math.round((everStarted / (allStartedMs / 1000)) * 10) / 10 : 0,
    },
    settlement: {
      /** Confirmed per second while holding, beside what the running leases owed (one per lease per period). */
      holdThroughput,
      samples: samples.length,
      lagMs: lag,
      lagMsInHoldWindow: windowLag.length > 0 ? percentiles(windowLag.map((s) => s.lagMs)) : null,
      /** Periods a lease ran (its last, paid by the close, excluded) without a settlement. */
      missedPeriods: periodsWithoutSettlement,
      lateOverTarget: samples.filter((s) => s.lagMs > TARGET_P99_MS).length,
      /** Settled after the next period had already ended. */
      lateOverPeriod: samples.filter((s) => s.lagMs > opts.period * 1000).length,
      leasesEndedEarly: endedEarly,
      /** Leases with no settlement record to read (e.g. they never ran), and why. */
      leasesWithoutPeriods: unread,
      /** Cancels the API refused, and leases still not ended two minutes after theirs (a bug if any). */
      cancelsRefused: refused,
      leasesNotEndedAfterCancel: notEnded,
      target: { rule: `p99 < ${TARGET_P99_MS} ms and no period missed`, met: lag !== null && lag.p99 < TARGET_P99_MS && periodsWithoutSettlement === 0 && endedEarly.length === 0 },
    },
    history: {
      leasesRead: growth.length,
      eventsPerLeasePerPeriod: perPeriod.length > 0 ? { min: Math.min(...perPeriod), max: Math.max(...perPeriod) } : null,
      maxEventsInRun: Math.max(0, ...growth.map((g) => g.eventsInRun)),
      runsContinuedAsNew: growth.filter((g) => g.continuedAsNew).length,
    },
    processes: {
      windowSeconds: Math.round(windowSeconds),
      load: loadUsage,
      busiest: busiest ? { part: busiest[0], cpuCores: busiest[1].cpuCores } : null,
      pids: parts(),
    },
    api: {
      /** Embedded: the hosts' API process. Cluster: every API process behind the balancer (hosts' and customers' requests). */
      hostApiRequestsPerSecond: Math.round(((requestsTo.host - requestsFrom.host) / windowSeconds) * 10) / 10,
      customerApiRequestsPerSecond: Math.round(((requestsTo.customer - requestsFrom.customer) / windowSeconds) * 10) / 10,
      /** Host reports answered 503 for load (HOST_REPORTS_IN_FLIGHT reached), of the requests above. */
      hostReportsShedPerSecond: Math.round(((requestsTo.shed - requestsFrom.shed) / windowSeconds) * 10) / 10,
    },
    fleetSimulator: fleetAtEnd,
    floor: {
      idle: { seconds: opts.idleSeconds, processes: idleUsage, ...idleProbes.summary() },
      underLoad: probes.summary(),
    },
  };
});
