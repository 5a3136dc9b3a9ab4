/**
 * The cluster topology's servers (issue 9), supervised like the engine processes: a PostgreSQL server of
 * the machine's binaries holding the engine's database and Temporal's two, and Temporal's real server on
 * it, its services in one process or as separate frontend, history, matching and worker processes.
 * Used by `LEASE_ENGINE_TOPOLOGY=cluster npm start` and by scripts/cluster/start-temporal.ts.
 */
import path from 'node:path';
import type { Config } from '../../infra/config';
import {
  ensureDatabase, initLocalPostgres, localPostgresProcess, localPostgresUrl, waitForPostgres,
} from '../../infra/db/local-postgres';
import type { TemporalService } from '../../infra/temporal/cluster-server';
import {
  TEMPORAL_SERVICES, defaultTemporalServerHome, prepareNamespace, prepareTemporalDatabases, requireTemporalServer,
  temporalClusterPorts, temporalServerArgs, writeTemporalServerConfig,
} from '../../infra/temporal/cluster-server';
import { connectWithRetry } from '../../infra/temporal/connection';
import { waitForTemporal } from '../../infra/temporal/dev-server';
import type { Supervisor } from './supervisor';

const SUPERUSER = 'lease';
const IP = '127.0.0.1';
export const ENGINE_DATABASE = 'lease_engine';

export interface ClusterPostgres {
  port: number;
  /** A URL of `database` on this server. */
  url(database: string): string;
}

/** The supervised PostgreSQL process's name. */
export const CLUSTER_POSTGRES_PROCESS = 'postgresql';

/** PostgreSQL with its data under DATA_DIR/cluster/postgresql, on CLUSTER_POSTGRES_PORT. */
export async function startClusterPostgres(config: Config, supervisor: Supervisor): Promise<ClusterPostgres> {
  const opts = { dataDir: path.join(config.dataDir, 'cluster', 'postgresql'), port: config.CLUSTER_POSTGRES_PORT, superuser: SUPERUSER };
  await initLocalPostgres(opts);
  const server = localPostgresProcess(opts);
  supervisor.start({ name: CLUSTER_POSTGRES_PROCESS, ...server, restart: true });
  const url = (database: string) => localPostgresUrl(opts, database);
  await waitForPostgres(url('postgres'), { timeoutMs: 60_000 });
  await ensureDatabase(url('postgres'), ENGINE_DATABASE);
  return { port: opts.port, url };
}

export interface ClusterTemporal {
  address: string;
  /** Process names, for the banner and ordered stops. */
  processes: string[];
}

/**
 * Temporal's databases brought to the newest schema, a config generated under DATA_DIR/cluster/temporal,
 * the services started, and the namespace with the lease search attributes registered.
 */
export async function startClusterTemporal(config: Config, supervisor: Supervisor, postgres: ClusterPostgres): Promise<ClusterTemporal> {
  const install = requireTemporalServer(config.TEMPORAL_SERVER_HOME ?? defaultTemporalServerHome());
  const persistence = { host: IP, port: postgres.port, user: SUPERUSER };
  await prepareTemporalDatabases(install, persistence);
  const root = path.join(config.dataDir, 'cluster', 'temporal');
  const ports = temporalClusterPorts(config.TEMPORAL_PORT);
  writeTemporalServerConfig({ root, persistence, ports, ip: IP, logLevel: config.LOG_LEVEL === 'debug' ? 'info' : 'warn' });

  const groups: { name: string; services?: TemporalService[] }[] =
    config.TEMPORAL_SERVER_SERVICES === 'separate'
      ? TEMPORAL_SERVICES.map((service) => ({ name: `temporal-${service}`, services: [service] }))
      : [{ name: 'temporal' }];
  for (const group of groups) {
    supervisor.start({ name: group.name, command: install.server, args: temporalServerArgs(root, group.services), cwd: root, restart: true });
  }
  const address = `${IP}:${ports.frontend.grpc}`;
  await waitForTemporal(address, { timeoutMs: 120_000 });
  const connection = await connectWithRetry(address);
  try {
    await prepareNamespace(connection, config.TEMPORAL_NAMESPACE);
  } finally {
    await connection.close();
  }
  return { address, processes: groups.map((group) => group.name) };
}
