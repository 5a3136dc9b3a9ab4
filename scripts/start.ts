/**
 * `npm start`: the whole engine on one machine (DESIGN §7). Embedded PostgreSQL (PGlite) unless
 * DATABASE_URL is set, a Temporal dev server unless TEMPORAL_ADDRESS is set, the local chain node (with
 * the demo market on it) unless SOLANA_RPC_URL is set, the API, the control worker and a demo fleet of
 * host agents with simulated GPUs on the local Docker engine.
 * LEASE_ENGINE_TOPOLOGY=cluster (`npm run start:cluster`): PostgreSQL and Temporal's real server on it in
 * place of PGlite and the dev server, two API processes behind API_PORT and two control workers (README
 * "Cluster topology").
 * Engine processes are restarted when they die; host agents are not. Ctrl-C stops everything.
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from '../infra/config';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db/connection';
import { migrateToLatest } from '../infra/db/migrate';
import type { EmbeddedPostgres } from '../infra/db/pglite-server';
import { startEmbeddedPostgres } from '../infra/db/pglite-server';
import { DEMO_CUSTOMERS, DEMO_PROVIDERS } from './launcher/demo-fleet';
import type { DemoFile, DemoSolana } from './launcher/demo-file';
import { demoFilePath, writeDemoFile } from './launcher/demo-file';
import { ensureDemoState } from './launcher/demo-state';
import type { DemoWallet } from './launcher/demo-wallets';
import { ensureDemoWallets } from './launcher/demo-wallets';
import type { ClusterPostgres } from './launcher/cluster';
import { CLUSTER_POSTGRES_PROCESS, ENGINE_DATABASE, startClusterPostgres, startClusterTemporal } from './launcher/cluster';
import { hostAgentProcess } from './launcher/engine-processes';
import { assertPortFree } from './launcher/ports';
import { waitForApi, waitForHostsOnline } from './launcher/readiness';
import type { LauncherSolana } from './launcher/solana';
import { solanaEnv, startSolana } from './launcher/solana';
import { Supervisor } from './launcher/supervisor';
import { startTemporal } from './launcher/temporal';
import type { LauncherTemporal } from './launcher/temporal';
import type { EngineProcesses } from './launcher/topology';
import { assertClusterCanStart, startEngineProcesses } from './launcher/topology';

const say = (text: string): void => console.log(`lease-engine | ${text}`);

// Replaced by the names the topology gives its engine processes once they start.
let ENGINE = ['api', 'control-worker'];
const HOSTS = DEMO_PROVIDERS.flatMap((provider) => provider.hosts.map((host) => host.hostId));

async function checkPorts(config: Config): Promise<void> {
  await assertPortFree(config.API_HOST, config.API_PORT, 'API_PORT');
  const cluster = config.LEASE_ENGINE_TOPOLOGY === 'cluster';
  if (cluster) await assertClusterCanStart(config);
  if (config.DATABASE_URL === undefined && !cluster) await assertPortFree('127.0.0.1', config.PGLITE_PORT, 'PGLITE_PORT');
  if (config.TEMPORAL_ADDRESS === undefined && !cluster) {
    await assertPortFree('127.0.0.1', config.TEMPORAL_PORT, 'TEMPORAL_PORT');
    await assertPortFree('127.0.0.1', config.TEMPORAL_UI_PORT, 'TEMPORAL_UI_PORT');
  }
  if (config.SOLANA_RPC_URL === undefined) {
    await assertPortFree('127.0.0.1', config.SOLANA_RPC_PORT, 'SOLANA_RPC_PORT');
    await assertPortFree('127.0.0.1', config.SOLANA_RPC_PORT + 1, 'SOLANA_RPC_PORT', 'SOLANA_RPC_PORT + 1, for PubSub');
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  await mkdir(config.dataDir, { recursive: true });
  await checkPorts(config);

  let demo: DemoFile | undefined;
  // A restarted process has a new pid, a dead host agent none: keep data/demo.json telling the truth.
  const rewriteDemoFile = () => {
    if (demo) writeDemoFile(config.dataDir, withPids(demo, supervisor));
  };
  const supervisor = new Supervisor({ onSpawn: rewriteDemoFile, onExit: rewriteDemoFile });
  // Whatever ends this process (an uncaught error, a forced exit), its children end with it.
  process.on('exit', () => supervisor.killAllNow());
  let postgres: EmbeddedPostgres | undefined;
  let clusterPostgres: ClusterPostgres | undefined;
  let temporalProcesses = ['temporal'];
  let engine: EngineProcesses | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      say('stopping');
      await supervisor.stop([...HOSTS, ...ENGINE]);
      await engine?.close();
      await supervisor.stop([...temporalProcesses, 'chain']);
      await postgres?.close();
      await supervisor.stop([CLUSTER_POSTGRES_PROCESS]);
    })());
  // `on`, not `once`: a terminal's Ctrl-C reaches us twice (directly and relayed by npm/tsx), and a second
  // signal must not kill the launcher halfway through the ordered stop.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      stop().then(() => process.exit(0), () => process.exit(1));
    });
  }

  try {
    let databaseUrl = config.DATABASE_URL;
    if (databaseUrl === undefined && config.LEASE_ENGINE_TOPOLOGY === 'cluster') {
      clusterPostgres = await startClusterPostgres(config, supervisor);
      databaseUrl = clusterPostgres.url(ENGINE_DATABASE);
      say(`PostgreSQL on ${databaseUrl}, data in ${config.dataDir}/cluster/postgresql`);
    } else if (databaseUrl === undefined) {
      postgres = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.PGLITE_PORT });
      databaseUrl = postgres.url;
      say(`embedded PostgreSQL (PGlite) on ${databaseUrl}, data in ${config.dataDir}/pglite`);
    }
    // Before the API and the control worker: both expect the chain, the mint and the escrow Config there.
    const solana = await startSolana(config, supervisor, { customerCount: DEMO_CUSTOMERS.length, say });

    const db = createDb(databaseUrl, { max: 2 });
    const { state, wallets } = await (async () => {
      try {
        await migrateToLatest(db);
        const demoState = await ensureDemoState(db, config.dataDir);
        const customerIds = DEMO_CUSTOMERS.map(({ key }) => demoState.customers[key]?.id ?? '');
        const demoWallets = solana.bootstrap ? await ensureDemoWallets(db, customerIds, solana.bootstrap) : [];
        return { state: demoState, wallets: demoWallets };
      } finally {
        await db.destroy();
      }
    })();

    const temporal: LauncherTemporal =
      clusterPostgres && config.TEMPORAL_ADDRESS === undefined
        ? await startClusterTemporal(config, supervisor, clusterPostgres).then(({ address, processes }) => {
            temporalProcesses = processes;
            say(`Temporal server on PostgreSQL: ${processes.join(', ')}`);
            return { address, uiUrl: null };
          })
        : await startTemporal(config, supervisor);
    say(`Temporal at ${temporal.address}`);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: config.dataDir,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      API_URL: config.apiUrl,
      // The API links each lease to its workflow there (the dashboard's operator view).
      ...(temporal.uiUrl ? { TEMPORAL_UI_URL: temporal.uiUrl } : {}),
      ...solanaEnv(solana),
    };
    engine = await startEngineProcesses(config, supervisor, env);
    ENGINE = [...engine.api, ...engine.controlWorkers];
    if (config.LEASE_ENGINE_TOPOLOGY === 'cluster') say(`${engine.api.join(', ')} behind ${config.apiUrl}; ${engine.controlWorkers.join(', ')}`);
    // Restarted, but crash-looping during start-up means a setting or a bug, not bad luck: say so.
    const crashLooping = () => ENGINE.find((name) => supervisor.restarts(name) >= 3);
    await waitForApi(config.apiUrl, { deadProcess: crashLooping });

    // Whole seconds: the database may keep heartbeat times at a coarser precision than Date.now().
    const hostsStarted = new Date(Math.floor(Date.now() / 1000) * 1000);
    for (const provider of DEMO_PROVIDERS) {
      const providerKey = state.providers[provider.key]?.apiKey ?? '';
      for (const host of provider.hosts) {
        supervisor.start(hostAgentProcess({ host, providerKey, apiUrl: config.apiUrl, dataDir: config.dataDir }, env));
      }
    }
    await waitForHostsOnline(config.apiUrl, HOSTS, hostsStarted, {
      deadProcess: () => HOSTS.find((hostId) => supervisor.pid(hostId) === undefined),
    }).catch((error: Error) => {
      throw new Error(
        `${error.message}. If data/demo-state.json was removed while the database was kept, the hosts belong to ` +
          `providers that no longer exist: remove ${config.dataDir} to start afresh.`,
      );
    });

    demo = {
      apiUrl: config.apiUrl,
      dashboardUrl: `${config.apiUrl}/`,
      temporalUiUrl: temporal.uiUrl,
      heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
      queueTimeoutSeconds: config.QUEUE_TIMEOUT_SECONDS,
      demoImage: config.DEMO_IMAGE,
      customers: DEMO_CUSTOMERS.map(({ key }) => state.customers[key]).flatMap((c) => (c ? [c] : [])),
      operator: state.operator ?? null,
      hosts: DEMO_PROVIDERS.flatMap((provider) =>
        provider.hosts.map((host) => ({
          hostId: host.hostId,
          providerId: state.providers[provider.key]?.id ?? '',
          tier: provider.tier,
          gpus: host.gpus.map(({ model, count, vramGb, pricePerGpuHour }) => ({ model, count, vramGb, pricePerGpuHour })),
          pid: null,
        })),
      ),
      solana: demoSolana(solana, wallets),
      processes: { temporal: null, api: null, controlWorker: null, chain: null },
    };
    writeDemoFile(config.dataDir, withPids(demo, supervisor));
    printBanner(demo, config);
  } catch (error) {
    console.error(`lease-engine | start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop();
    process.exit(1);
  }
}

function withPids(demo: DemoFile, supervisor: Supervisor): DemoFile {
  return {
    ...demo,
    hosts: demo.hosts.map((host) => ({ ...host, pid: supervisor.pid(host.hostId) ?? null })),
    processes: {
      temporal: firstPid(supervisor, 'temporal'),
      api: firstPid(supervisor, 'api'),
      controlWorker: firstPid(supervisor, 'control-worker'),
      chain: supervisor.pid('chain') ?? null,
    },
    supervised: Object.fromEntries(Object.entries(supervisor.pids()).map(([name, pid]) => [name, pid ?? null])),
  };
}

/** The pid of `role`, or of its first live instance (`api-1`, `temporal-frontend`) in the cluster topology. */
function firstPid(supervisor: Supervisor, role: string): number | null {
  const live = Object.entries(supervisor.pids()).find(([name, pid]) => (name === role || name.startsWith(`${role}-`)) && pid !== undefined);
  return live?.[1] ?? null;
}

function demoSolana({ rpcUrl, wsUrl, bootstrap }: LauncherSolana, customers: DemoWallet[]): DemoSolana | null {
  if (bootstrap === null) return null;
  const { programId, config, mint, decimals, treasury, settlementAuthority, reclaimGraceSeconds } = bootstrap;
  return { rpcUrl, wsUrl, programId, config, mint, decimals, treasury, settlementAuthority, reclaimGraceSeconds, customers };
}

function printBanner(demo: DemoFile, config: Config): void {
  const lines = [
    '',
    'lease-engine is running.',
    `  API:          ${demo.apiUrl}   (OpenAPI: ${demo.apiUrl}/openapi.json)`,
    `  Dashboard:    ${demo.dashboardUrl}   (sign in with a customer or the operator key below)`,
    `  Temporal UI:  ${demo.temporalUiUrl ?? `(none: ${config.TEMPORAL_ADDRESS === undefined ? `Temporal's server on PostgreSQL at 127.0.0.1:${config.TEMPORAL_PORT}` : `external Temporal at ${config.TEMPORAL_ADDRESS}`})`}`,
    `  Solana RPC:   ${config.solanaRpcUrl}   ${demo.solana ? `(local chain node; mint ${demo.solana.mint})` : '(external cluster)'}`,
    ...demo.customers.map((customer) => {
      const wallet = demo.solana?.customers.find((entry) => entry.customerId === customer.id)?.wallet;
      return `  Customer ${customer.name.padEnd(14)} API key: ${customer.apiKey}${wallet ? `   wallet: ${wallet}` : ''}`;
    }),
    ...(demo.operator ? [`  Operator ${demo.operator.name.padEnd(14)} API key: ${demo.operator.apiKey}`] : []),
    `  Hosts:        ${demo.hosts.map((host) => `${host.hostId} (tier ${host.tier})`).join(', ')}`,
    `  Demo image:   ${demo.demoImage}`,
    `  Details:      ${demoFilePath(config.dataDir)}`,
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

// Errors before anything started (configuration, a port in use) end here: one line, no stack.
main().catch((error: unknown) => {
  console.error(`lease-engine | start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
