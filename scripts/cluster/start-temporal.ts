/**
 * `npm run temporal:cluster`: Temporal's real server on PostgreSQL, alone (without the engine), in the
 * foreground until Ctrl-C: PostgreSQL of this machine's binaries (data under DATA_DIR/cluster/postgresql),
 * Temporal's databases set up and upgraded by its schema tool, a generated config, the services (one
 * process, or `--separate` frontend, history, matching and worker processes, restarted when they die), the
 * namespace and the lease search attributes registered. Point TEMPORAL_ADDRESS at it to run engine
 * processes against it. Settings as for `npm start` (CLUSTER_POSTGRES_PORT, TEMPORAL_PORT, DATA_DIR, ...).
 */
import { mkdir } from 'node:fs/promises';
import { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { CLUSTER_POSTGRES_PROCESS, ENGINE_DATABASE, startClusterPostgres, startClusterTemporal } from '../launcher/cluster';
import { Supervisor } from '../launcher/supervisor';
import { assertClusterCanStart } from '../launcher/topology';

const say = (text: string): void => console.log(`temporal-cluster | ${text}`);

async function main(): Promise<void> {
  const options = new Command('start-temporal')
    .description("Temporal's server on PostgreSQL, in the foreground")
    .option('--separate', 'frontend, history, matching and worker as separate processes (TEMPORAL_SERVER_SERVICES=separate)')
    .parse()
    .opts<{ separate?: boolean }>();
  const config = loadConfig({
    ...process.env,
    LEASE_ENGINE_TOPOLOGY: 'cluster',
    ...(options.separate ? { TEMPORAL_SERVER_SERVICES: 'separate' } : {}),
  });
  if (config.TEMPORAL_ADDRESS !== undefined || config.DATABASE_URL !== undefined) {
    throw new Error('TEMPORAL_ADDRESS and DATABASE_URL name servers that already run: unset them to start this one');
  }
  await mkdir(config.dataDir, { recursive: true });
  await assertClusterCanStart(config, { apiProcesses: false });

  const supervisor = new Supervisor();
  process.on('exit', () => supervisor.killAllNow());
  let processes: string[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      say('stopping');
      await supervisor.stop(processes);
      await supervisor.stop([CLUSTER_POSTGRES_PROCESS]);
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
  try {
    const postgres = await startClusterPostgres(config, supervisor);
    say(`PostgreSQL on 127.0.0.1:${postgres.port} (databases temporal, temporal_visibility, ${ENGINE_DATABASE})`);
    const temporal = await startClusterTemporal(config, supervisor, postgres);
    processes = temporal.processes;
    say(`Temporal ${temporal.processes.join(', ')} ready: TEMPORAL_ADDRESS=${temporal.address} namespace ${config.TEMPORAL_NAMESPACE}`);
    say(`engine database: DATABASE_URL=${postgres.url(ENGINE_DATABASE)}`);
    say('Ctrl-C stops it.');
  } catch (error) {
    console.error(`temporal-cluster | start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(`temporal-cluster | start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
