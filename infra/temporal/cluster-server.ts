/**
 * Temporal's real server on PostgreSQL (the cluster topology, issue 9): the binaries that
 * scripts/lib/temporal-server.sh builds, their databases set up and upgraded by Temporal's own schema tool,
 * a generated configuration, and the command lines to run the four services in one process or apart.
 * Starting and supervising the processes is the caller's (the launcher's Supervisor, a test).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client } from 'pg';
import { ensureSearchAttributes } from './search-attributes';

const run = promisify(execFile);

/** The server the Temporal CLI v1.5.1 embeds: workflows see the same server on both topologies. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** The config file name under `<root>/config/` (Temporal loads `<env>.yaml`). */
const CONFIG_ENV = 'lease-engine';

export interface TemporalServerInstall {
  home: string;
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12/<store>/versioned`, copied from the module. */
  schemaDir(store: 'temporal' | 'visibility'): string;
}

/** Where scripts/lib/temporal-server.sh installs (the same default as there); TEMPORAL_SERVER_HOME overrides. */
export function defaultTemporalServerHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_SERVER_HOME ?? path.join(os.homedir(), '.cache', 'lease-engine', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

/** The install at `home`, or undefined when it is absent or incomplete. */
export function findTemporalServer(home: string = defaultTemporalServerHome()): TemporalServerInstall | undefined {
  const install: TemporalServerInstall = {
    home,
    server: path.join(home, 'bin', 'temporal-server'),
    sqlTool: path.join(home, 'bin', 'temporal-sql-tool'),
    schemaDir: (store) => path.join(home, 'schema', 'postgresql', 'v12', store, 'versioned'),
  };
  const complete = [install.server, install.sqlTool, install.schemaDir('temporal'), install.schemaDir('visibility')].every((p) => existsSync(p));
  return complete ? install : undefined;
}

export function requireTemporalServer(home: string = defaultTemporalServerHome()): TemporalServerInstall {
  const install = findTemporalServer(home);
  if (!install) {
    throw new Error(
      `no Temporal server at ${home}: run \`bash scripts/cluster/install-temporal-server.sh\` ` +
        '(`npm run start:cluster` and `bash scripts/setup.sh test` do), or set TEMPORAL_SERVER_HOME',
    );
  }
  return install;
}

/** Temporal's own persistence: a PostgreSQL server and its two databases there. */
export interface TemporalPersistence {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** Default `temporal`. */
  database?: string;
  /** Default `temporal_visibility`. */
  visibilityDatabase?: string;
}

const databases = (persistence: TemporalPersistence) => ({
  temporal: persistence.database ?? 'temporal',
  visibility: persistence.visibilityDatabase ?? 'temporal_visibility',
});

/**
 * Creates Temporal's two databases when missing and brings their schemas to the newest version with the
 * schema tool (`setup-schema -v 0.0` then `update-schema`); both steps leave an up-to-date database as it
 * is, so this runs at every start, and a server upgrade migrates here.
 */
export async function prepareTemporalDatabases(install: TemporalServerInstall, persistence: TemporalPersistence): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: persistence.host,
    SQL_PORT: String(persistence.port),
    SQL_USER: persistence.user,
    SQL_PASSWORD: persistence.password ?? '',
  };
  const names = databases(persistence);
  const existing = await existingDatabases(persistence);
  for (const [store, name] of Object.entries(names) as ['temporal' | 'visibility', string][]) {
    const tool = async (...args: string[]) => {
      try {
        await run(install.sqlTool, ['--db', name, ...args], { env });
      } catch (error) {
        const { stderr, stdout } = error as { stderr?: string; stdout?: string };
        throw new Error(`temporal-sql-tool ${args[0]} (${name}) failed: ${(stderr || stdout || String(error)).trim().slice(-2_000)}`, { cause: error });
      }
    };
    if (!existing.has(name)) await tool('create-database');
    await tool('setup-schema', '-v', '0.0');
    await tool('update-schema', '-d', install.schemaDir(store));
  }
}

async function existingDatabases(persistence: TemporalPersistence): Promise<Set<string>> {
  const client = new Client({
    host: persistence.host, port: persistence.port, user: persistence.user, password: persistence.password, database: 'postgres',
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database');
    return new Set(rows.map((row) => row.datname));
  } finally {
    await client.end();
  }
}

/**
 * gRPC and membership (ringpop) ports of each service; every one must be free. Membership ports must be
 * below 32768: Temporal keeps them in a PostgreSQL `smallint` column (cluster_membership.rpc_port), and a
 * larger one stops the server at start ("value … is out of range for type smallint").
 */
export type TemporalClusterPorts = Record<TemporalService, { grpc: number; membership: number }> & {
  /** The frontend's HTTP API (Nexus callbacks, the HTTP gateway). */
  frontendHttp: number;
};

/** The largest port Temporal can record for a service's membership (a signed 16-bit column). */
export const MAX_MEMBERSHIP_PORT = 32_767;

/** Temporal's own layout around a frontend port (7233 → history 7234, matching 7235, worker 7239, membership −300). */
export function temporalClusterPorts(frontendPort: number): TemporalClusterPorts {
  if (frontendPort < 1_024 || frontendPort + 6 - 300 > MAX_MEMBERSHIP_PORT) {
    throw new Error(`Temporal's frontend port ${frontendPort} must lie in 1024–${MAX_MEMBERSHIP_PORT + 300 - 6}: its services' membership ports (300 below) must stay under 32768`);
  }
  const at = (grpc: number) => ({ grpc, membership: grpc - 300 });
  return {
    frontend: at(frontendPort),
    history: at(frontendPort + 1),
    matching: at(frontendPort + 2),
    worker: at(frontendPort + 6),
    frontendHttp: frontendPort + 10,
  };
}

export interface TemporalServerConfigOptions {
  /** Folder for the generated config (`<root>/config/…`); the server's `--root`. */
  root: string;
  persistence: TemporalPersistence;
  ports: TemporalClusterPorts;
  /** Listen address of every service; also what the services tell each other. Default 127.0.0.1. */
  ip?: string;
  /** What the services tell each other when `ip` is a wildcard (0.0.0.0 in a container): this host's address. */
  broadcastIp?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Fixed for the life of the database: history shards cannot be changed once workflows exist. */
  numHistoryShards?: number;
  /** More dynamic config, key → value (e.g. `limit.historyCount.suggestContinueAsNew`: 200). */
  dynamicConfig?: Record<string, unknown>;
}

/**
 * Writes the server's static and dynamic config under `root`. Generated rather than the module's
 * development-postgres12.yaml edited in place: every address and port comes from our settings, and the
 * file says what we rely on. JSON is YAML, so no YAML library is needed to write it.
 */
export function writeTemporalServerConfig(opts: TemporalServerConfigOptions): void {
  const ip = opts.ip ?? '127.0.0.1';
  const broadcastIp = opts.broadcastIp ?? ip;
  const configDir = path.join(opts.root, 'config');
  const dynamicConfigFile = path.join(configDir, 'dynamicconfig', `${CONFIG_ENV}.yaml`);
  mkdirSync(path.dirname(dynamicConfigFile), { recursive: true });
  const names = databases(opts.persistence);
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${opts.persistence.host}:${opts.persistence.port}`,
      connectProtocol: 'tcp',
      user: opts.persistence.user,
      password: opts.persistence.password ?? '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (service: TemporalService) => ({
    rpc: {
      grpcPort: opts.ports[service].grpc,
      membershipPort: opts.ports[service].membership,
      bindOnIP: ip,
      ...(service === 'frontend' ? { httpPort: opts.ports.frontendHttp } : {}),
    },
  });
  const config = {
    log: { stdout: true, level: opts.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.numHistoryShards ?? 4,
      datastores: { 'postgres-default': datastore(names.temporal, 20), 'postgres-visibility': datastore(names.visibility, 5) },
    },
    // No metrics or pprof listeners: they would take fixed ports (8000, 7936) that a second cluster collides on.
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: broadcastIp } },
    services: Object.fromEntries(TEMPORAL_SERVICES.map((service) => [service, rpc(service)])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${broadcastIp}:${opts.ports.frontend.grpc}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
  const dynamicConfig: Record<string, unknown> = {
    // A namespace registered at start is usable by every service within a second, not after 10 s.
    'system.namespaceCacheRefreshInterval': '1s',
    ...opts.dynamicConfig,
  };
  const header = '# Generated by lease-engine (infra/temporal/cluster-server.ts) at every start: edit the settings, not this file.\n';
  writeFileSync(path.join(configDir, `${CONFIG_ENV}.yaml`), `${header}${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(
    dynamicConfigFile,
    header + Object.entries(dynamicConfig).map(([key, value]) => `${JSON.stringify(key)}:\n  - value: ${JSON.stringify(value)}\n`).join(''),
  );
}

/** `temporal-server … start` for the config under `root`: every service when `services` is omitted. */
export function temporalServerArgs(root: string, services: readonly TemporalService[] = TEMPORAL_SERVICES): string[] {
  return ['--root', root, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start', ...services.flatMap((service) => ['--service', service])];
}

export interface PreparedNamespace {
  registered: boolean;
  searchAttributesAdded: string[];
}

/**
 * Registers `namespace` on a fresh cluster (the dev server has `default` built in, a real server has
 * none) and the lease workflow's search attributes on it. Idempotent; retries while the services are
 * still learning about a namespace registered a moment ago.
 */
export async function prepareNamespace(
  connection: Connection,
  namespace: string,
  opts: { retentionDays?: number; timeoutMs?: number } = {},
): Promise<PreparedNamespace> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let registered = false;
  if (!(await namespaceExists(connection, namespace))) {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${opts.retentionDays ?? 3} days`),
      });
      registered = true;
    } catch (error) {
      // Another starter registered it between our look and our call.
      if (!(await namespaceExists(connection, namespace))) throw error;
    }
  }
  for (;;) {
    try {
      return { registered, searchAttributesAdded: await ensureSearchAttributes(connection, namespace) };
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`search attributes on namespace ${namespace}: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (error) {
    // gRPC NOT_FOUND (5): anything else (the server going away) is not an answer.
    if ((error as { code?: number }).code === 5) return false;
    throw error;
  }
}
