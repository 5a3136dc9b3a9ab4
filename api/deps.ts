/** What the app is built from; server.ts wires the real ones, tests their own. */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db/schema';
import type { LeaseTimings } from '../workflows/messages';
import type { LeaseOrchestrator } from './lease-orchestrator';

export interface AppDeps {
  db: Kysely<Database>;
  orchestrator: LeaseOrchestrator;
  /** Fixed into each new lease's workflow input; heartbeatTimeoutSeconds also decides which hosts are offered. */
  timings: LeaseTimings;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** Unix ms; defaults to Date.now. Signature freshness and heartbeat times are read from it. */
  now?: () => number;
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
