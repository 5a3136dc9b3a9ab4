/**
 * The API's `/metrics` (Prometheus text): process metrics, HTTP requests by route pattern, receipts
 * accepted and rejected by a bounded reason, and gauges read from PostgreSQL at scrape time (leases,
 * hosts, escrow volume), with the ledger's money as counters and the network's health over the last hour. Every label value comes from a fixed set or from the app's own route table:
 * nothing a host or a customer sends becomes a new series.
 */
import type { RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import { formatTokenAmount } from '../domain/money';
import { LEASE_STATUSES } from '../domain/lease';
import { lastHourTotals, revenueToIncentiveRatio } from '../domain/network-health';
import { escrowVolume, hostCountsByStatus, leaseCountsByStatus } from '../infra/db/repositories/metrics.repo';
import { networkHealth } from '../infra/db/repositories/network-overview.repo';
import type { Database } from '../infra/db/schema';
import { createMetricsRegistry, METRIC_PREFIX } from '../infra/metrics/registry';
import type { ReportAnswer } from './host-reports';
import type { ReportAdmission } from './report-admission';

/** Every label a rejected receipt can be counted under; anything else is `other`. */
export const RECEIPT_REJECTION_REASONS = [
  'invalid_seq', 'after_broken_chain', 'conflicting_duplicate', 'malformed', 'skipped_seq', 'prev_hash_mismatch',
  'wrong_lease_id', 'wrong_assignment_id', 'wrong_host_id', 'wrong_gpu_id', 'wrong_epoch', 'wrong_period',
  'wrong_challenge_seed', 'wrong_challenge_answer', 'time_backwards', 'time_in_future', 'before_assignment_start',
  'hash_mismatch', 'bad_signature', 'not_hosts_assignment', 'assignment_ended', 'other',
] as const;
export type ReceiptRejectionReason = (typeof RECEIPT_REJECTION_REASONS)[number];

/** Matched against the reason with its "seq N: " prefix removed; first match wins. */
const REASON_PATTERNS: [RegExp, ReceiptRejectionReason][] = [
  [/^receipt without a valid seq/, 'invalid_seq'],
  [/^after broken chain/, 'after_broken_chain'],
  [/^conflicting duplicate/, 'conflicting_duplicate'],
  [/^malformed receipt/, 'malformed'],
  [/^skipped seq/, 'skipped_seq'],
  [/^prevHash does not match/, 'prev_hash_mismatch'],
  [/^wrong leaseId\b/, 'wrong_lease_id'],
  [/^wrong assignmentId\b/, 'wrong_assignment_id'],
  [/^wrong hostId\b/, 'wrong_host_id'],
  [/^wrong gpuId\b/, 'wrong_gpu_id'],
  [/^wrong epoch\b/, 'wrong_epoch'],
  [/^wrong period\b/, 'wrong_period'],
  [/^wrong challenge seed$/, 'wrong_challenge_seed'],
  [/^wrong challenge answer$/, 'wrong_challenge_answer'],
  [/^time went backwards/, 'time_backwards'],
  [/^time in the future/, 'time_in_future'],
  [/^dated before the assignment started/, 'before_assignment_start'],
  [/^hash does not match body$/, 'hash_mismatch'],
  [/^bad signature$/, 'bad_signature'],
  [/^assignment .* is not one of host .*'s$/s, 'not_hosts_assignment'],
  [/^the assignment has ended/, 'assignment_ended'],
];

/**
 * The label a rejection reason (domain/proof-receipt.ts, api/host-reports.ts) is counted under. Reasons
 * carry host-supplied values (ids, quoted fields, times): only the rule broken becomes a label, from
 * RECEIPT_REJECTION_REASONS, so a host cannot create series.
 */
export function receiptRejectionLabel(reason: string): ReceiptRejectionReason {
  const rule = reason.replace(/^seq -?\d+: /, '');
  return REASON_PATTERNS.find(([pattern]) => pattern.test(rule))?.[1] ?? 'other';
}

const HOST_STATUSES = ['online', 'lost', 'offline'] as const;
const ESCROW_FLOWS = [
  ['deposited', 'deposited'], ['paid_to_providers', 'paidToProviders'], ['fees', 'fees'], ['burned', 'burned'], ['refunded', 'refunded'],
] as const;
/**
 * The confirmed ledger as counters, in base units (exact in a float64 up to 2^53, 9 billion tokens of 6
 * decimals): they only grow, so rate() and increase() give the money per window.
 */
const LEDGER_COUNTERS = [
  ['compute_sold', 'computeSold', 'Compute sold: gross of confirmed settlements, what customers paid for verified GPU-seconds'],
  ['paid_to_providers', 'paidToProviders', 'Paid to providers: confirmed settlements net of fees and burn (the incentive providers receive)'],
  ['fees', 'fees', 'Fees to the treasury from confirmed settlements'],
  ['burned', 'burned', 'Burned by confirmed settlements'],
  ['topped_up', 'toppedUp', 'Drawn from customers\' allowances into their escrows by confirmed settlements\' top-ups'],
] as const;
const NETWORK_FLOWS = [['compute_sold', 'computeSold'], ['paid_to_providers', 'paidToProviders'], ['fees', 'fees'], ['burned', 'burned']] as const;

export interface ApiMetrics {
  registry: Registry;
  /** Counts each request under its method, express route pattern and status once it is answered. */
  httpMiddleware: RequestHandler;
  /** Counts a report's receipts, accepted and rejected (by normalised reason). */
  recordReport(answer: Pick<ReportAnswer, 'accepted' | 'rejected'>): void;
}

export interface ApiMetricsOptions {
  processMetrics?: boolean;
  /** The host reports this process works on and has refused for load (api/report-admission.ts). */
  reportAdmission?: Pick<ReportAdmission, 'inFlight' | 'shed'>;
}

export function createApiMetrics(db: Kysely<Database>, opts: ApiMetricsOptions = {}): ApiMetrics {
  const registry = createMetricsRegistry({ processMetrics: opts.processMetrics });
  const admission = opts.reportAdmission;
  if (admission) {
    new Gauge({
      name: `${METRIC_PREFIX}host_reports_in_flight`, help: 'Host reports this API process is working on now',
      registers: [registry],
      collect() {
        this.set(admission.inFlight);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}host_reports_shed_total`, help: 'Host reports answered 503 with Retry-After because the in-flight bound was reached',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(admission.shed);
      },
    });
  }
  const requests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`, help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`, help: 'Time to answer an HTTP request (long polls and event streams included)',
    labelNames: ['method', 'route'] as const, registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const receipts = new Counter({
    name: `${METRIC_PREFIX}receipts_total`, help: 'Proof receipts verified on arrival, accepted or rejected (by the rule broken)',
    labelNames: ['outcome', 'reason'] as const, registers: [registry],
  });

  new Gauge({
    name: `${METRIC_PREFIX}leases`, help: 'Leases by status (read from PostgreSQL at scrape time)',
    labelNames: ['status'] as const, registers: [registry],
    async collect() {
      const counts = new Map((await leaseCountsByStatus(db)).map((r) => [r.status, r.count]));
      this.reset();
      for (const status of new Set<string>([...LEASE_STATUSES, ...counts.keys()])) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  // Both host gauges come from one query: the second collects what the first read at the same scrape.
  let hostRead: Promise<Awaited<ReturnType<typeof hostCountsByStatus>>> | null = null;
  const readHosts = () => (hostRead ??= hostCountsByStatus(db).finally(() => setImmediate(() => { hostRead = null; })));
  new Gauge({
    name: `${METRIC_PREFIX}hosts`, help: 'Registered hosts by status (read from PostgreSQL at scrape time)',
    labelNames: ['status'] as const, registers: [registry],
    async collect() {
      const rows = await readHosts();
      this.reset();
      for (const status of HOST_STATUSES) this.set({ status }, rows.find((r) => r.status === status)?.count ?? 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}hosts_unhealthy`, help: 'Hosts out of placement now for failing their dispatches or receipts',
    registers: [registry],
    async collect() {
      this.set((await readHosts()).reduce((sum, r) => sum + r.unhealthy, 0));
    },
  });
  // The escrow gauge and the ledger counters share one query per scrape, as the host gauges do.
  let volumeRead: Promise<Awaited<ReturnType<typeof escrowVolume>>> | null = null;
  const readVolume = () => (volumeRead ??= escrowVolume(db).finally(() => setImmediate(() => { volumeRead = null; })));
  new Gauge({
    name: `${METRIC_PREFIX}escrow_tokens`, help: 'Escrow volume in tokens over all leases, by flow (confirmed on chain; read from PostgreSQL at scrape time)',
    labelNames: ['flow'] as const, registers: [registry],
    async collect() {
      const volume = await readVolume();
      for (const [flow, key] of ESCROW_FLOWS) this.set({ flow }, Number(formatTokenAmount(volume[key])));
    },
  });
  for (const [name, key, help] of LEDGER_COUNTERS) {
    new Counter({
      name: `${METRIC_PREFIX}${name}_base_units_total`, help: `${help} (base units; read from PostgreSQL at scrape time)`,
      registers: [registry],
      async collect() {
        const volume = await readVolume();
        this.reset();
        this.inc(Number(volume[key]));
      },
    });
  }
  // The last hour from the operator view's per-minute figures (network-overview.repo), read once per scrape.
  let hourRead: Promise<ReturnType<typeof lastHourTotals>> | null = null;
  const readLastHour = () => (hourRead ??= networkHealth(db, 'minute', 60).then((rows) => lastHourTotals(rows, Date.now()))
    .finally(() => setImmediate(() => { hourRead = null; })));
  new Gauge({
    name: `${METRIC_PREFIX}network_last_hour_base_units`,
    help: 'Confirmed settlements of the last 60 minutes by flow: compute_sold, paid_to_providers, fees, burned (base units)',
    labelNames: ['flow'] as const, registers: [registry],
    async collect() {
      const totals = await readLastHour();
      for (const [flow, key] of NETWORK_FLOWS) this.set({ flow }, Number(totals[key]));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}network_revenue_to_incentive_ratio`,
    help: 'Network health over the last 60 minutes: compute sold / paid to providers (NaN when nothing was paid)',
    registers: [registry],
    async collect() {
      this.set(revenueToIncentiveRatio(await readLastHour()));
    },
  });

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    // The pattern of the route that matched, caught when the router sets it (req.baseUrl is then its
    // mount path); a request no route matched is counted under "unmatched".
    let route: unknown;
    let pattern = 'unmatched';
    Object.defineProperty(req, 'route', {
      configurable: true, enumerable: true,
      get: () => route,
      set: (value: { path?: unknown } | undefined) => {
        route = value;
        if (typeof value?.path === 'string') pattern = `${req.baseUrl}${value.path}`;
      },
    });
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ method: req.method, route: pattern, status: String(res.statusCode) });
      duration.observe({ method: req.method, route: pattern }, seconds);
    });
    next();
  };

  return {
    registry,
    httpMiddleware,
    recordReport(answer) {
      if (answer.accepted > 0) receipts.inc({ outcome: 'accepted', reason: 'none' }, answer.accepted);
      for (const rejected of answer.rejected) receipts.inc({ outcome: 'rejected', reason: receiptRejectionLabel(rejected.reason) });
    },
  };
}
