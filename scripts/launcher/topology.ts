/**
 * What differs between `npm start`'s two topologies once the servers are up: the engine's processes.
 * Embedded: one API on API_PORT and one control worker. Cluster: CLUSTER_API_PROCESSES API processes on
 * the ports after API_PORT behind a balancer on API_PORT (one address, as a load balancer gives in
 * production), and CLUSTER_CONTROL_WORKERS control workers. Either way the control worker is built ahead
 * first (workflow bundle, compiled worker), so that no control worker spends its start-up on it.
 */
import type { Config } from '../../infra/config';
import { temporalClusterPorts } from '../../infra/temporal/cluster-server';
import { ensureCompiledControlWorker } from '../../workers/control/compiled-worker';
import { ensureWorkflowBundle } from '../../workers/control/workflow-bundle';
import { apiProcess, controlWorkerProcess } from './engine-processes';
import { assertPortFree } from './ports';
import type { Supervisor } from './supervisor';
import type { TcpBalancer } from './tcp-balancer';
import { startTcpBalancer } from './tcp-balancer';

export interface EngineProcesses {
  /** Supervised names: API processes first, then control workers. */
  api: string[];
  controlWorkers: string[];
  /** Stops what is not a supervised process (the balancer). */
  close(): Promise<void>;
}

const BACKEND_HOST = '127.0.0.1';

/** The API processes' own ports in the cluster topology: the ones after API_PORT. */
const apiBackendPorts = (config: Config): number[] =>
  Array.from({ length: config.CLUSTER_API_PROCESSES }, (_, i) => config.API_PORT + 1 + i);

/**
 * Cluster topology: its settings fit together, and the ports its servers and API processes will take are
 * free (a clear error now, not a crash loop).
 */
export async function assertClusterCanStart(config: Config, opts: { apiProcesses?: boolean } = {}): Promise<void> {
  if (config.DATABASE_URL !== undefined && config.TEMPORAL_ADDRESS === undefined) {
    throw new Error(
      "LEASE_ENGINE_TOPOLOGY=cluster runs Temporal's server on the PostgreSQL it starts: unset DATABASE_URL, or set TEMPORAL_ADDRESS too",
    );
  }
  if (config.DATABASE_URL === undefined) {
    await assertPortFree('127.0.0.1', config.CLUSTER_POSTGRES_PORT, 'CLUSTER_POSTGRES_PORT');
  }
  if (config.TEMPORAL_ADDRESS === undefined) {
    const ports = temporalClusterPorts(config.TEMPORAL_PORT);
    for (const [service, { grpc, membership }] of Object.entries({ frontend: ports.frontend, history: ports.history, matching: ports.matching, worker: ports.worker })) {
      await assertPortFree('127.0.0.1', grpc, 'TEMPORAL_PORT', `Temporal ${service} gRPC (from TEMPORAL_PORT)`);
      await assertPortFree('127.0.0.1', membership, 'TEMPORAL_PORT', `Temporal ${service} membership (from TEMPORAL_PORT)`);
    }
    await assertPortFree('127.0.0.1', ports.frontendHttp, 'TEMPORAL_PORT', 'Temporal frontend HTTP (from TEMPORAL_PORT)');
  }
  for (const port of opts.apiProcesses === false ? [] : apiBackendPorts(config)) {
    await assertPortFree(BACKEND_HOST, port, 'API_PORT', `an API process's own port (API_PORT + 1…${config.CLUSTER_API_PROCESSES})`);
  }
}

export async function startEngineProcesses(config: Config, supervisor: Supervisor, env: NodeJS.ProcessEnv): Promise<EngineProcesses> {
  if (config.WORKFLOW_BUNDLE !== 'inline') await ensureWorkflowBundle({ file: config.WORKFLOW_BUNDLE });
  await ensureCompiledControlWorker();
  if (config.LEASE_ENGINE_TOPOLOGY === 'embedded') {
    supervisor.start(apiProcess(env));
    supervisor.start(controlWorkerProcess(env));
    return { api: ['api'], controlWorkers: ['control-worker'], close: async () => undefined };
  }

  const api = apiBackendPorts(config).map((port, i) => {
    const name = `api-${i + 1}`;
    supervisor.start({ ...apiProcess({ ...env, API_HOST: BACKEND_HOST, API_PORT: String(port) }), name });
    return name;
  });
  const controlWorkers = Array.from({ length: config.CLUSTER_CONTROL_WORKERS }, (_, i) => {
    const name = `control-worker-${i + 1}`;
    // METRICS_PORT is one port: each worker takes its own after it, so none fails to bind.
    const metricsPort = config.METRICS_PORT === undefined ? {} : { METRICS_PORT: String(config.METRICS_PORT + i) };
    supervisor.start({ ...controlWorkerProcess({ ...env, ...metricsPort }), name });
    return name;
  });
  const balancer: TcpBalancer = await startTcpBalancer(
    { host: config.API_HOST, port: config.API_PORT },
    apiBackendPorts(config).map((port) => ({ host: BACKEND_HOST, port })),
  );
  return { api, controlWorkers, close: () => balancer.close() };
}
