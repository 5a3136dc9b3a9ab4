/**
 * Many simulated hosts in one process (issue 9 item 2), each speaking the real host protocol to the
 * API. What makes a thousand cheap: one shared ticker decides which hosts owe a report (no timer per
 * host), reports and registrations go through a bounded limiter and a bounded keep-alive socket pool,
 * and each host's long poll is one request held open, not a loop of timers.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { delayAfterReportError, HostApiClient, HostApiError } from '../host-agent/api-client';
import { describe } from '../host-agent/host-link';
import { loadOrCreateHostKey } from '../host-agent/key-file';
import { ReceiptChains } from '../host-agent/receipt-chains';
import { simulatedGpus } from '../host-agent/simulated-gpu';
import type { HttpPools } from './http-pool';
import { createHttpPools } from './http-pool';
import { Limiter } from './limiter';
import type { PlannedHost } from './simulated-host';
import { SimulatedHost } from './simulated-host';

export interface FleetOptions {
  apiUrl: string;
  hosts: PlannedHost[];
  /** One `<hostId>.key.json` per host, created at first start: a restarted simulator comes back as the same hosts. */
  keyDir: string;
  reportIntervalMs: number;
  /** Reports and registrations in flight at most (and report sockets). */
  concurrency: number;
  pollWaitMs?: number;
  /** How often the shared ticker looks for hosts that owe a report. */
  tickMs?: number;
  logger: Logger;
}

export interface FleetStats {
  hosts: number;
  registered: number;
  runningAssignments: number;
  reports: number;
  reportFailures: number;
  /** Reports the API refused with a Retry-After (load, or a host over its rate), sent again after it. */
  reportsRetriedAfter: number;
  receiptsSigned: number;
  receiptsAccepted: number;
  receiptsRejected: number;
  polls: number;
  pollFailures: number;
  reRegistrations: number;
  /** Reports waiting for a slot now: above zero for long, the simulator (or the API) is the bottleneck. */
  reportsQueued: number;
  /** Report round trips since the last stats() call. */
  reportMs: { n: number; mean: number; max: number };
}

export class Fleet {
  private readonly hosts: SimulatedHost[] = [];
  private readonly limiter: Limiter;
  private readonly pools: HttpPools;
  private readonly counters = {
    reports: 0, reportFailures: 0, reportsRetriedAfter: 0, receiptsSigned: 0, receiptsAccepted: 0, receiptsRejected: 0, polls: 0, pollFailures: 0, reRegistrations: 0,
  };
  private window = { n: 0, sum: 0, max: 0 };
  private readonly reRegistering = new Set<string>();

  constructor(private readonly options: FleetOptions) {
    this.limiter = new Limiter(options.concurrency);
    this.pools = createHttpPools(options.apiUrl, options.concurrency);
  }

  /**
   * Loads or creates every key, registers every host (bounded), then long-polls and reports until
   * `signal` aborts. `onRegistered` is called once every host is registered.
   */
  async run(signal: AbortSignal, onRegistered?: () => void): Promise<void> {
    const { logger } = this.options;
    for (const plan of this.options.hosts) this.hosts.push(await this.createHost(plan));
    const started = Date.now();
    await Promise.all(this.hosts.map((host) => this.limiter.run(() => this.registerUntilAccepted(host, signal))));
    logger.info({ hosts: this.hosts.length, ms: Date.now() - started }, 'every simulated host registered');
    onRegistered?.();
    // Spread the first reports over an interval: a thousand hosts must not all report in the same tick.
    for (const host of this.hosts) host.nextReportAt = Date.now() + Math.random() * this.options.reportIntervalMs;
    const ticker = setInterval(() => this.tick(signal), this.options.tickMs ?? 100);
    try {
      await Promise.all(this.hosts.map((host) => this.pollLoop(host, signal)));
    } finally {
      clearInterval(ticker);
      this.pools.close();
    }
  }

  stats(): FleetStats {
    const { n, sum, max } = this.window;
    this.window = { n: 0, sum: 0, max: 0 };
    return {
      hosts: this.hosts.length,
      registered: this.hosts.filter((h) => h.registered).length,
      runningAssignments: this.hosts.reduce((total, h) => total + h.runningAssignments(), 0),
      ...this.counters,
      reportsQueued: this.limiter.waiting,
      reportMs: { n, mean: n > 0 ? Math.round(sum / n) : 0, max: Math.round(max) },
    };
  }

  private async createHost(plan: PlannedHost): Promise<SimulatedHost> {
    const key = await loadOrCreateHostKey(path.join(this.options.keyDir, `${plan.hostId}.key.json`));
    const client = (transport: HttpPools['poll']) =>
      new HostApiClient({ apiUrl: this.options.apiUrl, hostId: plan.hostId, secretKey: key.secretKey, providerKey: plan.providerKey, transport });
    return new SimulatedHost({
      hostId: plan.hostId,
      publicKey: key.publicKey,
      gpus: simulatedGpus(plan.hostId, plan.gpus),
      chains: new ReceiptChains(plan.hostId, key.secretKey),
      pollClient: client(this.pools.poll),
      reportClient: client(this.pools.report),
    });
  }

  private async registerUntilAccepted(host: SimulatedHost, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        await host.register(signal);
        host.registered = true;
        return;
      } catch (error) {
        if (signal.aborted) return;
        // A refusal (a wrong provider key, a host id taken by another key) will not change by retrying.
        if (error instanceof HostApiError && !error.transient) throw new Error(`host ${host.hostId}: registration refused: ${error.message}`);
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private tick(signal: AbortSignal): void {
    const now = Date.now();
    for (const host of this.hosts) {
      if (host.reporting || !host.registered || host.nextReportAt > now) continue;
      host.reporting = true;
      const usualMs = host.reportDelayMs(this.options.reportIntervalMs);
      void this.limiter.run(() => this.reportOnce(host, usualMs, signal)).catch(() => usualMs).then((waitMs) => {
        host.reporting = false;
        host.nextReportAt = Date.now() + waitMs;
      });
    }
  }

  /** One report; resolves to the wait before the host's next one (spread out when the API asked to be asked later). */
  private async reportOnce(host: SimulatedHost, usualMs: number, signal: AbortSignal): Promise<number> {
    if (signal.aborted) return usualMs;
    const started = performance.now();
    try {
      const { answer, signed } = await host.report(Date.now(), signal);
      const ms = performance.now() - started;
      this.window = { n: this.window.n + 1, sum: this.window.sum + ms, max: Math.max(this.window.max, ms) };
      this.counters.reports += 1;
      this.counters.receiptsSigned += signed;
      this.counters.receiptsAccepted += answer.accepted;
      this.counters.receiptsRejected += answer.rejected.length;
      if (answer.rejected.length > 0) this.options.logger.warn({ hostId: host.hostId, rejected: answer.rejected.slice(0, 3) }, 'receipts rejected');
      return usualMs;
    } catch (error) {
      if (signal.aborted) return usualMs;
      const waitMs = delayAfterReportError(error, usualMs);
      if (error instanceof HostApiError && error.retryAfterMs !== undefined) {
        // Told to come back later (load): counted, not logged a thousand times.
        this.counters.reportsRetriedAfter += 1;
      } else {
        this.counters.reportFailures += 1;
        this.onApiError(host, error, 'report failed', signal);
      }
      return waitMs;
    }
  }

  private async pollLoop(host: SimulatedHost, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const changed = await host.pollDesired(this.options.pollWaitMs ?? 25_000, signal);
        this.counters.polls += 1;
        failures = 0;
        // A dispatch waits on this host saying its container runs: say so in the next tick.
        if (changed) host.nextReportAt = 0;
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        this.counters.pollFailures += 1;
        this.onApiError(host, error, 'desired-state poll failed', signal);
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** As the agent: a 401/404 means the API forgot the host (a reset database): register again, once at a time. */
  private onApiError(host: SimulatedHost, error: unknown, what: string, signal: AbortSignal): void {
    const forgotten = error instanceof HostApiError && (error.status === 401 || error.status === 404);
    this.options.logger.warn({ hostId: host.hostId, err: describe(error) }, forgotten ? `${what}; registering again` : what);
    if (!forgotten || this.reRegistering.has(host.hostId)) return;
    this.reRegistering.add(host.hostId);
    this.counters.reRegistrations += 1;
    void this.limiter
      .run(() => this.registerUntilAccepted(host, signal))
      .catch((err: unknown) => this.options.logger.error({ hostId: host.hostId, err: describe(err) }, 'registration refused'))
      .finally(() => this.reRegistering.delete(host.hostId));
  }
}
