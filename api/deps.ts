/** What the app is built from; server.ts wires the real ones, tests their own. */
import type { Connection, PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { LogPolicy } from '../domain/container-logs';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db/schema';
import type { LeaseTimings } from '../workflows/messages';
import type { LeaseOrchestrator } from './lease-orchestrator';
import type { ApiMetrics } from './metrics';

/** The chain the API reads customers' allowances from, to refuse a deposit they cannot pay and to show them. */
export interface PaymentsDeps {
  connection: Connection;
  /** The payment mint; read once from the escrow program's Config when absent. */
  mint?: PublicKey;
  /** The lease_escrow program, whose per-customer PDA is the allowance delegate. Default: the IDL's address. */
  programId?: PublicKey;
  /** How long a balance check may wait for the RPC before the request is answered 503. Default 10 s. */
  timeoutMs?: number;
}

/** Where operators look at workflows: the dashboard links each lease to its page there. */
export interface TemporalUi {
  url: string;
  namespace: string;
}

export interface AppDeps {
  db: Kysely<Database>;
  orchestrator: LeaseOrchestrator;
  /** Fixed into each new lease's workflow input; heartbeatTimeoutSeconds also decides which hosts are offered. */
  timings: LeaseTimings;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** Unix ms; defaults to Date.now. Signature freshness is judged by it. */
  now?: () => number;
  /** Lease event streams: how often open streams' leases are looked at (250 ms) and the heartbeat (15 s). */
  events?: { tickMs?: number; heartbeatMs?: number };
  /** Absent: deposits are not checked before a lease is created (the escrow open still is), and no allowance is shown. */
  payments?: PaymentsDeps;
  /** The app's `/metrics` registry and counters; a fresh one (createApiMetrics) when absent. */
  metrics?: ApiMetrics;
  /** Container log bounds (domain/container-logs.ts); DEFAULT_LOG_POLICY when absent. */
  logPolicy?: LogPolicy;
  /** Absent: leases are shown to operators without a link to the Temporal UI. */
  temporalUi?: TemporalUi;
  /** Host reports worked on at once before more are answered 503 (api/report-admission.ts); DEFAULT_HOST_REPORTS_IN_FLIGHT when absent. */
  hostReportsInFlight?: number;
}

export function leaseTimingsFromConfig(config: Config): LeaseTimings {
  return {
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
    proofIntervalSeconds: config.PROOF_INTERVAL_SECONDS,
    settlementPeriodSeconds: config.SETTLEMENT_PERIOD_SECONDS,
    queueTimeoutSeconds: config.QUEUE_TIMEOUT_SECONDS,
    depositWindowPeriods: config.DEPOSIT_WINDOW_PERIODS,
  };
}

export function temporalUiFromConfig(config: Config): TemporalUi | undefined {
  return config.temporalUiUrl === null ? undefined : { url: config.temporalUiUrl, namespace: config.TEMPORAL_NAMESPACE };
}

/** DATABASE_URL, or the embedded PGlite that `npm start` serves (infra/db/pglite-server.ts) when it is unset. */
export function databaseUrlFromConfig(config: Config): string {
  return config.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${config.PGLITE_PORT}/postgres`;
}
