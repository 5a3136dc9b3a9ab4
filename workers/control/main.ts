/**
 * Control worker process: `tsx workers/control/main.ts`: the lease workflows, the control activities
 * and the fleet monitor. Configuration from the environment (infra/config.ts); several may run side by
 * side against the same Temporal and PostgreSQL.
 */
import { NativeConnection } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../../infra/config';
import { installSdkLogger } from '../../infra/temporal/sdk-logger';
import { createDb } from '../../infra/db/connection';
import { escrowDepsFromConfig } from '../../infra/solana/escrow-deps';
import { connectTemporal } from '../../infra/temporal/connection';
import { serveMetrics } from '../../infra/metrics/registry';
import { startFleetMonitor } from './fleet-monitor';
import { createControlMetrics } from './metrics';
import { createControlWorker } from './worker';
import { ensureWorkflowBundle } from './workflow-bundle';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ name: 'control-worker', level: config.LOG_LEVEL });
  // The SDK reports worker states and bundle statistics at INFO: operators need its warnings, not those.
  installSdkLogger(log, log.isLevelEnabled('debug') ? 'DEBUG' : 'WARN');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the control worker (npm start sets it)');
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
  const db = createDb(config.DATABASE_URL, { preparedStatements: config.DATABASE_PREPARED_STATEMENTS });
  const connection = await connectWithRetry(address, log);
  const escrow = escrowDepsFromConfig(config, db, log);
  const metrics = config.METRICS_PORT === undefined ? undefined : createControlMetrics();
  const worker = await createControlWorker({
    connection, namespace: config.TEMPORAL_NAMESPACE, db, escrow, log, metrics, workflowBundle: await workflowBundle(config.WORKFLOW_BUNDLE, log),
  });
  const temporal = await connectTemporal(address, config.TEMPORAL_NAMESPACE);
  const metricsServer = metrics && config.METRICS_PORT !== undefined ? await serveMetrics(metrics.registry, config.METRICS_PORT) : undefined;
  if (metricsServer) log.info({ port: metricsServer.port }, 'control worker metrics on GET /metrics');
  const monitor = startFleetMonitor({ db, client: temporal.client, heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS, log, metrics });
  const stop = (): void => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log.info({ address, namespace: config.TEMPORAL_NAMESPACE }, 'control worker polling lease-control');
  await worker.run();
  await monitor.stop();
  await metricsServer?.close();
  await temporal.connection.close();
  await connection.close();
  await db.destroy();
}

/**
 * The pre-built workflow bundle (setup and the launcher build it), checked against the sources first and
 * rebuilt when they changed; `inline`: none, the SDK bundles in memory at every start.
 */
async function workflowBundle(setting: string | undefined, log: pino.Logger): Promise<WorkerOptions['workflowBundle']> {
  if (setting === 'inline') return undefined;
  const bundle = await ensureWorkflowBundle({ file: setting, log });
  return bundle.codePath !== undefined ? { codePath: bundle.codePath } : { code: bundle.code };
}

/** The launcher may still be starting Temporal, or restarting it: wait for it rather than crash-loop. */
async function connectWithRetry(address: string, log: pino.Logger): Promise<NativeConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect({ address });
    } catch (err) {
      if (attempt >= 60) throw err;
      log.warn({ address, attempt }, 'Temporal not reachable yet, retrying');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
