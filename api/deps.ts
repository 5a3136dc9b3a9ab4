/** What the app is built from; server.ts wires the real ones, tests their own. */
import type { Connection, PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db/schema';
import type { CustomerWallets } from '../infra/solana/customer-wallets';
import type { LeaseTimings } from '../workflows/messages';
import type { LeaseOrchestrator } from './lease-orchestrator';
import type { ApiMetrics } from './metrics';

/** The chain the API reads customers' token balances from, to refuse a deposit they cannot pay. */
export interface PaymentsDeps {
  connection: Connection;
  wallets: CustomerWallets;
  /** The payment mint; read once from the escrow program's Config when absent. */
  mint?: PublicKey;
  /** How long a balance check may wait for the RPC before the request is answered 503. Default 10 s. */
  timeoutMs?: number;
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
  /** Absent: deposits are not checked before a lease is created or extended (the escrow open still is). */
  payments?: PaymentsDeps;
  /** The app's `/metrics` registry and counters; a fresh one (createApiMetrics) when absent. */
  metrics?: ApiMetrics;
}

export function leaseTimingsFromConfig(config: Config): LeaseTimings {
  return {
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
    proofIntervalSeconds: config.PROOF_INTERVAL_SECONDS,
    settlementPeriodSeconds: config.SETTLEMENT_PERIOD_SECONDS,
    queueTimeoutSeconds: config.QUEUE_TIMEOUT_SECONDS,
  };
}

/** DATABASE_URL, or the embedded PGlite that `npm start` serves (infra/db/pglite-server.ts) when it is unset. */
export function databaseUrlFromConfig(config: Config): string {
  return config.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${config.PGLITE_PORT}/postgres`;
}
