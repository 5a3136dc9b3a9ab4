import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting the engine reads, validated once at start-up: a missing or malformed value stops the
 * process with a message naming the variable. Unset "embedded" settings mean "start it ourselves".
 */
const seconds = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * A host report costs about 2–3 ms of CPU (bench:host-report), so 64 in flight is some 0.2 s of queued
 * work: more only adds waiting, not throughput.
 */
export const DEFAULT_HOST_REPORTS_IN_FLIGHT = 64;

const schema = z.object({
  DATA_DIR: z.string().default('data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** PostgreSQL. Unset: an embedded PGlite under DATA_DIR served on PGLITE_PORT. */
  DATABASE_URL: z.string().url().optional(),
  PGLITE_PORT: z.coerce.number().int().min(1).max(65535).default(55432),
  /** `false` behind a pooler in transaction mode (PgBouncer): infra/db/prepared-statements.ts. */
  DATABASE_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Temporal frontend host:port. Unset: the project starts a dev server with its UI. */
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** The Temporal Web UI operators open (the dashboard links leases there). Unset: the dev server's, if we start it. */
  TEMPORAL_UI_URL: z.string().url().optional(),
  TEMPORAL_CLI: z.string().optional(),
  /**
   * `npm start`'s topology: `embedded` (PGlite, the Temporal dev server, one API, one control worker) or
   * `cluster` (PostgreSQL and Temporal's real server on it, two API processes behind API_PORT, two control
   * workers): README "Cluster topology".
   */
  LEASE_ENGINE_TOPOLOGY: z.enum(['embedded', 'cluster']).default('embedded'),
  /** Cluster topology: the local PostgreSQL server (engine data and Temporal's persistence), data under DATA_DIR. */
  CLUSTER_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(55433),
  /** Cluster topology: Temporal's services in one process, or frontend, history, matching and worker apart. */
  TEMPORAL_SERVER_SERVICES: z.enum(['one-process', 'separate']).default('one-process'),
  /** Where scripts/cluster/install-temporal-server.sh put temporal-server, its schema tool and schemas. */
  TEMPORAL_SERVER_HOME: z.string().optional(),
  CLUSTER_API_PROCESSES: z.coerce.number().int().min(1).max(16).default(2),
  CLUSTER_CONTROL_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
  /**
   * Control workers load the lease workflows from this pre-built bundle (rebuilt there when the workflow
   * sources changed); `inline` bundles in memory at every start (~10 s). Default: .build/workflows-bundle.js.
   */
  WORKFLOW_BUNDLE: z.string().optional(),
  /** Host reports each API process works on at once; more are answered 503 with Retry-After (api/report-admission.ts). */
  HOST_REPORTS_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_HOST_REPORTS_IN_FLIGHT),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  /** Control workers serve Prometheus `GET /metrics` on this port when set; unset: no metrics server. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Where host agents reach the API (registration, heartbeats). */
  API_URL: z.string().url().optional(),
  /** A host silent for longer than this is lost and its assignments fail over. */
  HEARTBEAT_TIMEOUT_SECONDS: seconds(10, 3, 600),
  /** How often a host agent signs a proof receipt per assignment. */
  PROOF_INTERVAL_SECONDS: seconds(5, 1, 60),
  /** Settlement period (DESIGN §2.4): 60 s by default, down to 5 s. */
  SETTLEMENT_PERIOD_SECONDS: seconds(60, 5, 3600),
  /**
   * The rolling deposit (DESIGN §2.2): a lease's escrow holds the current period plus this many more at its price
   * cap, topped up from the customer's allowance with each settlement.
   */
  DEPOSIT_WINDOW_PERIODS: z.coerce.number().int().min(1).max(100).default(2),
  /** How long a lease waits for capacity before it fails. */
  QUEUE_TIMEOUT_SECONDS: seconds(30, 0, 86_400),
  /** Lease containers' network and Docker socket are each host agent's own options (workers/host-agent/options.ts). */
  DEMO_IMAGE: z.string().default('lease-engine/busybox:local'),
  /** Solana JSON-RPC. Unset: the project's local chain node (LiteSVM) on SOLANA_RPC_PORT, state under DATA_DIR. */
  SOLANA_RPC_URL: z.string().url().optional(),
  SOLANA_RPC_PORT: z.coerce.number().int().min(1).max(65534).default(8899),
  /** Keypair file (Solana CLI JSON) of the settlement authority; control workers only. */
  SETTLEMENT_AUTHORITY_KEYPAIR: z.string().optional(),
  /**
   * Demo only: pay a provider without a registered payout account into a wallet the engine keeps for it.
   * Production leaves it off: real providers register their own token account.
   */
  DEMO_PAYOUT_ACCOUNTS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
});

export type Config = z.infer<typeof schema> & {
  dataDir: string;
  apiUrl: string;
  solanaRpcUrl: string;
  settlementAuthorityKeypair: string;
  /** Null when Temporal is external and TEMPORAL_UI_URL is unset: nobody told us where its UI is. */
  temporalUiUrl: string | null;
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  if (config.PROOF_INTERVAL_SECONDS * 2 > config.HEARTBEAT_TIMEOUT_SECONDS) {
    // A host heartbeats on every receipt at the latest; two missed receipts must not already mean "lost".
    throw new ConfigError(
      `invalid configuration: HEARTBEAT_TIMEOUT_SECONDS (${config.HEARTBEAT_TIMEOUT_SECONDS}) must be at least twice PROOF_INTERVAL_SECONDS (${config.PROOF_INTERVAL_SECONDS})`,
    );
  }
  return {
    ...config,
    dataDir: path.resolve(config.DATA_DIR),
    apiUrl: config.API_URL ?? `http://${config.API_HOST}:${config.API_PORT}`,
    solanaRpcUrl: config.SOLANA_RPC_URL ?? `http://127.0.0.1:${config.SOLANA_RPC_PORT}`,
    temporalUiUrl: config.TEMPORAL_UI_URL ?? (config.TEMPORAL_ADDRESS === undefined ? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : null),
    settlementAuthorityKeypair:
      config.SETTLEMENT_AUTHORITY_KEYPAIR ?? path.join(path.resolve(config.DATA_DIR), 'keys', 'settlement-authority.json'),
  };
}
