/**
 * A whole engine for tests that exercise leases for real: a fresh PostgreSQL database, a Temporal dev
 * server, the API, the control worker and its fleet monitor in this process, and one real host-agent
 * *process* per host (so a test can SIGKILL it), each running containers on the local Docker engine and
 * speaking only to the API. With
 * `controlWorker: 'process'` the control worker is a real `workers/control/main.ts` process too, with the
 * same configuration, so a test can SIGKILL it and start it again.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Connection, PublicKey } from '@solana/web3.js';
import { CONTROL_TASK_QUEUE } from '../../activities/contracts';
import { startApiServer } from '../../api/server';
import type { SolanaBootstrap } from '../../infra/solana/bootstrap';
import { bootstrapSolana } from '../../infra/solana/bootstrap';
import { startChainNode } from '../../infra/solana/chain-node/chain-node';
import { readKeypair } from '../../infra/solana/chain-node/keypair-file';
import { approveAllowance, signWalletRegistration } from '../../infra/solana/customer-allowance';
import { escrowDepsFromConfig } from '../../infra/solana/escrow-deps';
import { spawnTiedToParent } from '../../scripts/launcher/tied-spawn';
import type { RunningApi } from '../../api/server';
import { loadConfig } from '../../infra/config';
import { createCustomer } from '../../infra/db/repositories/customers.repo';
import { createProvider } from '../../infra/db/repositories/providers.repo';
import type { FleetMonitor } from '../../workers/control/fleet-monitor';
import { startFleetMonitor } from '../../workers/control/fleet-monitor';
import { createControlWorker } from '../../workers/control/worker';
import type { ControlMetrics } from '../../workers/control/metrics';
import { createControlMetrics } from '../../workers/control/metrics';
import type { FreshDatabase } from './postgres';
import { freePort, freshDatabase } from './postgres';
import { connectTemporalServer, leaseWorkflowBundle, startTemporal } from './temporal';

export const DEMO_IMAGE = 'lease-engine/busybox:local';
export const SLEEP_FOREVER = ['sh', '-c', 'while true; do sleep 1; done'];

export interface HostPlan {
  hostId: string;
  provider: string;
  tier: 1 | 2 | 3;
  /** `--simulate-gpus` spec, e.g. "H100:80:3.20x2". */
  gpus: string;
  /** Extra host-agent options (e.g. a broken Docker socket). */
  args?: string[];
}

export interface EngineOptions {
  hosts: HostPlan[];
  heartbeatTimeoutSeconds?: number;
  proofIntervalSeconds?: number;
  settlementPeriodSeconds?: number;
  queueTimeoutSeconds?: number;
  suggestContinueAsNewAfterEvents?: number;
  /** Where the control worker runs: in this process (default) or as its own process that a test can kill. */
  controlWorker?: 'in-process' | 'process';
  /** More environment for the API (and the control worker), e.g. TEMPORAL_UI_URL. */
  apiEnv?: Record<string, string>;
  /** More environment for the control worker process (e.g. LEASE_ENGINE_FAILPOINTS); `'process'` only. */
  controlWorkerEnv?: Record<string, string>;
  /** Node options for the control worker process (e.g. --cpu-prof, which NODE_OPTIONS refuses); `'process'` only. */
  controlWorkerNodeArgs?: string[];
  /**
   * A Temporal frontend that already runs (Temporal's server on PostgreSQL: the cluster topology), its
   * namespace and the lease search attributes registered; a dev server is started when absent.
   */
  temporalAddress?: string;
  /** Base units each customer approves for the escrow program (default 1,000 tokens); null: no approval. */
  customerAllowance?: bigint | null;
  /** K of the rolling deposit (DEPOSIT_WINDOW_PERIODS); default the engine's. */
  depositWindowPeriods?: number;
}

export interface TestEngine {
  apiUrl: string;
  solana: SolanaBootstrap;
  connection: Connection;
  database: FreshDatabase;
  temporal: TestWorkflowEnvironment;
  customers: { id: string; apiKey: string }[];
  providers: Map<string, { id: string; tier: number }>;
  hostProcesses: Map<string, ChildProcess>;
  /** The in-process control worker's and fleet monitor's `/metrics` registry (undefined with `controlWorker: 'process'`). */
  controlMetrics: ControlMetrics | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON answers field by field
  request(method: string, url: string, body?: unknown, apiKey?: string): Promise<{ status: number; body: any }>;
  killHost(hostId: string): void;
  /** Starts the host's agent again as it was first started (same key file); the new process replaces it in hostProcesses. */
  reviveHost(hostId: string): ChildProcess;
  /** The control worker process now (`controlWorker: 'process'` only; undefined in-process). */
  controlWorkerProcess(): ChildProcess | undefined;
  /** SIGKILLs the control worker process and waits until it is gone (`'process'` only). */
  killControlWorker(): Promise<void>;
  /**
   * Starts a new control worker process, the old one killed first if it still runs, with `env` in place of
   * `controlWorkerEnv`; resolves once it polls the control task queue (`'process'` only).
   */
  restartControlWorker(env?: Record<string, string>): Promise<ChildProcess>;
  /** Moves the chain's clock ahead of the wall clock (e.g. past a lease's reclaim date); the engine's stays. */
  advanceChainClock(ms: number): void;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '../..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON answers field by field
async function httpJson(base: string, method: string, url: string, body: unknown, apiKey: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${url}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

export async function startEngine(options: EngineOptions): Promise<TestEngine> {
  const database = await freshDatabase();
  const temporal =
    options.temporalAddress === undefined
      ? await startTemporal({ suggestContinueAsNewAfterEvents: options.suggestContinueAsNewAfterEvents })
      : await connectTemporalServer(options.temporalAddress);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-test-'));
  // The chain: the local node (LiteSVM behind JSON-RPC) with the program, mint, treasury and funded wallets.
  let chainClockOffsetMs = 0;
  const chain = await startChainNode({ port: 0, dataDir, nowMs: () => Date.now() + chainClockOffsetMs });
  const solana = await bootstrapSolana({ rpcUrl: chain.rpcUrl, wsUrl: chain.wsUrl, dataDir, customerCount: 2 });
  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    API_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    HEARTBEAT_TIMEOUT_SECONDS: String(options.heartbeatTimeoutSeconds ?? 4),
    PROOF_INTERVAL_SECONDS: String(options.proofIntervalSeconds ?? 1),
    SETTLEMENT_PERIOD_SECONDS: String(options.settlementPeriodSeconds ?? 5),
    QUEUE_TIMEOUT_SECONDS: String(options.queueTimeoutSeconds ?? 5),
    SOLANA_RPC_URL: chain.rpcUrl,
    DEMO_PAYOUT_ACCOUNTS: 'true',
    ...(options.depositWindowPeriods !== undefined ? { DEPOSIT_WINDOW_PERIODS: String(options.depositWindowPeriods) } : {}),
    ...options.apiEnv,
  };
  const config = loadConfig(env);
  const api: RunningApi = await startApiServer(config);
  let inProcess: { worker: Worker; run: Promise<void> } | undefined;
  let controlProcess: ChildProcess | undefined;
  let monitor: FleetMonitor | undefined;
  let controlMetrics: ControlMetrics | undefined;
  if (options.controlWorker !== 'process') {
    controlMetrics = createControlMetrics({ processMetrics: false });
    const worker: Worker = await createControlWorker({
      metrics: controlMetrics,
      connection: temporal.nativeConnection,
      namespace: temporal.namespace ?? 'default',
      db: database.db,
      escrow: escrowDepsFromConfig(config, database.db),
      workflowBundle: await leaseWorkflowBundle(),
    });
    inProcess = { worker, run: worker.run() };
    monitor = startFleetMonitor({ db: database.db, client: temporal.client, heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS, tickMs: 100,
      metrics: controlMetrics });
  }
  const controlEnv = { ...env, TEMPORAL_NAMESPACE: temporal.namespace ?? 'default' };
  const startControlProcess = async (extra: Record<string, string>): Promise<ChildProcess> => {
    // The launcher's entry: the worker compiled ahead when current, the TypeScript through tsx otherwise.
    const child = spawnTiedToParent(process.execPath, [...(options.controlWorkerNodeArgs ?? []), path.join(ROOT, 'workers/control/start.cjs')], {
      cwd: ROOT, env: { ...process.env, ...controlEnv, ...extra }, stdio: ['ignore', 'inherit', 'inherit'],
    });
    controlProcess = child;
    await waitFor(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`control worker exited (${child.exitCode ?? child.signalCode})`);
      return pollsControlQueue(temporal, child.pid!);
    }, 120_000, 'the control worker process polling lease-control');
    return child;
  };
  const requireProcessMode = (): void => {
    if (options.controlWorker !== 'process') throw new Error("the control worker runs in-process: start the engine with controlWorker: 'process'");
  };
  const killControlWorker = async (): Promise<void> => {
    requireProcessMode();
    if (controlProcess) await ended(controlProcess, 'SIGKILL');
  };
  if (options.controlWorker === 'process') {
    // A test process that dies without stop() must not leave a worker polling a dead server.
    process.once('exit', () => controlProcess?.kill('SIGKILL'));
    await startControlProcess(options.controlWorkerEnv ?? {});
  }

  const customers = [await createCustomer(database.db, 'alice'), await createCustomer(database.db, 'bob')];
  // Each customer acts as a real one would, with its own key (which no engine process reads): it approves an
  // allowance for the escrow program and registers its wallet through the API.
  const customerConnection = new Connection(chain.rpcUrl, 'confirmed');
  for (const [i, customer] of customers.entries()) {
    const owner = readKeypair(solana.customers[i]!.keypairPath);
    if (options.customerAllowance !== null) {
      await approveAllowance(customerConnection, owner, { mint: new PublicKey(solana.mint), decimals: solana.decimals,
        amount: options.customerAllowance ?? 1_000_000_000n });
    }
    const registered = await httpJson(api.url, 'POST', '/v1/wallet', signWalletRegistration(owner, customer.id), customer.apiKey);
    if (registered.status !== 200) throw new Error(`wallet registration of ${customer.id} answered ${registered.status}: ${JSON.stringify(registered.body)}`);
  }
  const providers = new Map<string, { id: string; tier: number; apiKey: string }>();
  for (const plan of options.hosts) {
    if (!providers.has(plan.provider)) providers.set(plan.provider, await createProvider(database.db, plan.provider, plan.tier));
  }

  const hostProcesses = new Map<string, ChildProcess>();
  const spawnHost = (plan: HostPlan): ChildProcess => {
    const child = spawnTiedToParent(
      process.execPath,
      [
        '--import', 'tsx', path.join(ROOT, 'workers/host-agent/main.ts'),
        '--host-id', plan.hostId,
        '--provider-key', providers.get(plan.provider)!.apiKey,
        '--api-url', api.url,
        '--simulate-gpus', plan.gpus,
        '--key-file', path.join(dataDir, `${plan.hostId}.key.json`),
        '--report-interval', '1',
        '--log-level', 'warn',
        ...(plan.args ?? []),
      ],
      // A provider's machine knows the API URL and its keys, nothing of the engine's configuration.
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    hostProcesses.set(plan.hostId, child);
    return child;
  };
  for (const plan of options.hosts) spawnHost(plan);
  // A test process that dies without stop() must not leave agents polling a dead server.
  process.once('exit', () => hostProcesses.forEach((child) => child.kill('SIGKILL')));

  const request = async (method: string, url: string, body?: unknown, apiKey = customers[0]!.apiKey) => {
    const response = await fetch(`${api.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const engine: TestEngine = {
    apiUrl: api.url,
    solana,
    connection: new Connection(chain.rpcUrl, 'confirmed'),
    database,
    temporal,
    customers,
    providers,
    hostProcesses,
    controlMetrics,
    request,
    killHost: (hostId) => hostProcesses.get(hostId)?.kill('SIGKILL'),
    reviveHost: (hostId) => {
      const plan = options.hosts.find((h) => h.hostId === hostId);
      if (!plan) throw new Error(`no host ${hostId} in this engine`);
      return spawnHost(plan);
    },
    controlWorkerProcess: () => controlProcess,
    killControlWorker,
    advanceChainClock: (ms: number) => {
      chainClockOffsetMs += ms;
    },
    restartControlWorker: async (extra = {}) => {
      await killControlWorker();
      return startControlProcess(extra);
    },
    stop: async () => {
      await Promise.all(
        [...hostProcesses.values()].map(
          (child) => new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
        ),
      );
      await monitor?.stop();
      if (inProcess) {
        inProcess.worker.shutdown();
        await inProcess.run;
      }
      // A graceful stop first; a worker stuck on an activity does not hold up the teardown for long.
      if (controlProcess) await ended(controlProcess, 'SIGTERM', 15_000);
      await api.close();
      await temporal.teardown();
      await chain.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(async () => {
      const hosts = (await request('GET', '/v1/hosts')).body as { hostId: string; status: string }[];
      return options.hosts.every((plan) => hosts.some((h) => h.hostId === plan.hostId && h.status === 'online'));
    }, 60_000, 'every host agent registered and online');
  } catch (err) {
    // A test that cannot start (no Docker engine, an agent that exits) must not leave its servers behind.
    await engine.stop().catch(() => undefined);
    throw err;
  }
  return engine;
}

/** Sends `signal` (if it still runs) and resolves once `child` has exited; SIGKILL after `graceMs`. */
function ended(child: ChildProcess, signal: NodeJS.Signals, graceMs = 0): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** Whether process `pid` polls both the workflow and the activity side of the control task queue. */
async function pollsControlQueue(temporal: TestWorkflowEnvironment, pid: number): Promise<boolean> {
  // 1 and 2: TASK_QUEUE_TYPE_WORKFLOW and TASK_QUEUE_TYPE_ACTIVITY. The SDK's default worker identity is "pid@host".
  for (const taskQueueType of [1, 2]) {
    const { pollers } = await temporal.client.workflowService.describeTaskQueue({
      namespace: temporal.namespace ?? 'default', taskQueue: { name: CONTROL_TASK_QUEUE }, taskQueueType,
    });
    if (!pollers.some((poller) => poller.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}

export async function waitFor<T>(probe: () => Promise<T | false | undefined | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
