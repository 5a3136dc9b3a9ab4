/**
 * The API process: `tsx api/server.ts`. Wires the real dependencies into createApp, listens, and on
 * SIGINT/SIGTERM stops taking connections, lets requests in flight finish, then closes its clients.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Connection } from '@solana/web3.js';
import pino from 'pino';
import type { Config } from '../infra/config';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db/connection';
import { migrateToLatest } from '../infra/db/migrate';
import { connectTemporal } from '../infra/temporal/connection';
import { TemporalLeaseOrchestrator } from '../infra/temporal/lease-orchestrator';
import { recordApiAlive } from '../infra/db/repositories/api-liveness.repo';
import { createApp } from './app';
import type { ContainerLogsWatch } from './container-logs-watch';
import type { DesiredStateWatch } from './desired-state-watch';
import type { LeaseEventsWatch } from './lease-events-watch';
import { databaseUrlFromConfig, leaseTimingsFromConfig, temporalUiFromConfig } from './deps';

export interface RunningApi {
  url: string;
  /** Graceful: waits for requests in flight, then closes the database pool and the Temporal connection. */
  close(): Promise<void>;
}

/** Lets in-flight requests finish; idle keep-alive sockets would otherwise hold `close` open. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startApiServer(config: Config = loadConfig()): Promise<RunningApi> {
  const logger = pino({ name: 'api', level: config.LOG_LEVEL });
  const db = createDb(databaseUrlFromConfig(config), { preparedStatements: config.DATABASE_PREPARED_STATEMENTS });
  await migrateToLatest(db);
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
  const temporal = await connectTemporal(address, config.TEMPORAL_NAMESPACE, {
    onRetry: (attempt) => logger.warn({ address, attempt }, 'Temporal not reachable yet, retrying'),
  });
  const app = createApp({
    db,
    orchestrator: new TemporalLeaseOrchestrator(temporal.client),
    timings: leaseTimingsFromConfig(config),
    logger,
    temporalUi: temporalUiFromConfig(config),
    // Allowances are read over JSON-RPC, from the local chain node or a real cluster alike; the API holds no key.
    payments: { connection: new Connection(config.solanaRpcUrl, 'confirmed') },
    hostReportsInFlight: config.HOST_REPORTS_IN_FLIGHT,
  });

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.API_PORT, config.API_HOST, (err?: Error) => (err ? reject(err) : resolve(listening)));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.API_HOST}:${port}`;
  logger.info({ url, temporal: address, solana: config.solanaRpcUrl }, 'API listening');

  // The fleet monitor judges hosts only while an API has been up to hear them (api-liveness.repo).
  const instance = `${os.hostname()}/${process.pid}/${randomUUID()}`;
  const startedAt = new Date();
  const beat = () => recordApiAlive(db, instance, startedAt).catch((err: unknown) => logger.warn({ err }, 'could not record API liveness'));
  await beat();
  const liveness = setInterval(() => void beat(), 1_000).unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(liveness);
      // Waiting long polls answer now ("no change"): their hosts ask the next API process.
      (app.locals.desiredStateWatch as DesiredStateWatch).close();
      // Event streams end; their clients resume from their Last-Event-ID on another API process.
      (app.locals.leaseEventsWatch as LeaseEventsWatch).close();
      (app.locals.containerLogsWatch as ContainerLogsWatch).close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      await db.destroy();
      await temporal.connection.close();
      logger.info('API stopped');
    })());
  return { url, close };
}

if (require.main === module) {
  startApiServer()
    .then((api) => {
      const stop = (): void => {
        api.close().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
