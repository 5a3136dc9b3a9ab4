/**
 * The stack a chaos run kills processes of: `npm start`'s own launcher (scripts/start.ts), embedded or cluster
 * topology, on ports and a DATA_DIR of its own, plus what the driver supervises itself:
 *
 * - the launcher restarts the engine's processes when they die (API, control workers, Temporal, the chain
 *   node; on the cluster topology also its PostgreSQL), exactly as in production;
 * - the driver restarts what the launcher deliberately does not: the demo fleet's host agents (a dead host is
 *   what failover is for, so the launcher leaves it dead), the fleet simulator it adds, and, on the embedded
 *   topology, the engine's PostgreSQL (the launcher would run PGlite inside itself, which no one can kill, so
 *   the driver gives it a real PostgreSQL through DATABASE_URL).
 *
 * Every process is its own process group (the launcher's supervisor and ours spawn detached): a kill takes the
 * group, so PostgreSQL's backends go with their postmaster as they would on a machine that lost the server.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTiedToParent } from '../launcher/tied-spawn';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection as TemporalConnection, WorkflowClient } from '@temporalio/client';
import { Connection } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { CONTROL_TASK_QUEUE } from '../../activities/contracts';
import { createDb } from '../../infra/db/connection';
import { ensureDatabase, initLocalPostgres, localPostgresProcess, localPostgresUrl, waitForPostgres } from '../../infra/db/local-postgres';
import { createProvider } from '../../infra/db/repositories/providers.repo';
import type { Database } from '../../infra/db/schema';
import { DEMO_PROVIDERS } from '../launcher/demo-fleet';
import type { DemoFile } from '../launcher/demo-file';
import type { DemoState } from '../launcher/demo-state';
import { hostAgentProcess, ROOT } from '../launcher/engine-processes';
import { Supervisor } from '../launcher/supervisor';
import type { ProcessSpec } from '../launcher/supervisor';

/** What a process is, for coverage: every kind the stack has must be killed at least once. */
export type ProcessKind =
  | 'control-worker' | 'api' | 'temporal' | 'temporal-frontend' | 'temporal-history' | 'temporal-matching' | 'temporal-worker'
  | 'postgresql' | 'chain' | 'host-agent' | 'fleet-simulator';

export interface ChaosTarget {
  /** The process's name in the launcher (api-2, temporal-history, aurora-1) or the driver's (fleet-simulator). */
  name: string;
  kind: ProcessKind;
  /** Who brings it back: the launcher's supervisor on its own, or the driver (after a down time it chooses). */
  restartedBy: 'launcher' | 'driver';
}

export interface ChaosStackOptions {
  topology: 'embedded' | 'cluster';
  /** Hosts of the fleet simulator (each 2 simulated H100s, cheaper than the demo fleet's). */
  simulatedHosts: number;
  /** First of the ports the stack takes (API, +400 Temporal, +500 PostgreSQL, +600 chain, +700 UI, +800 PGlite). */
  portBase: number;
  settlementPeriodSeconds: number;
  heartbeatTimeoutSeconds: number;
  proofIntervalSeconds: number;
  /** How often each simulated host reports. */
  reportIntervalSeconds: number;
  /** Where child output goes (a file keeps a test's output readable). */
  log: NodeJS.WritableStream;
}

export interface ChaosStack {
  topology: 'embedded' | 'cluster';
  apiUrl: string;
  customerKeys: string[];
  dataDir: string;
  db: Kysely<Database>;
  workflow: WorkflowClient;
  /** A new client of the chain node each call (one made before a restart may hold sockets to the dead process). */
  chain(): Connection;
  targets(): ChaosTarget[];
  pid(target: ChaosTarget): number | undefined;
  /** SIGKILLs the target's process group; resolves once its pid is gone. */
  kill(target: ChaosTarget): Promise<number>;
  /** The driver's own targets: starts the process again (the launcher's restart on their own). */
  restart(target: ChaosTarget): Promise<void>;
  /** Resolves once the target runs again as a new process (not `oldPid`) and does its job (answers, polls, reports). */
  recovered(target: ChaosTarget, oldPid: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const SUPERUSER = 'lease';
const SIMULATOR = 'fleet-simulator';
const SIMULATED_GPUS = 'H100:80:1.00x2';

const kindOf = (name: string): ProcessKind | undefined => {
  if (/^control-worker(-\d+)?$/.test(name)) return 'control-worker';
  if (/^api(-\d+)?$/.test(name)) return 'api';
  if (/^temporal(-(frontend|history|matching|worker))?$/.test(name)) return name as ProcessKind;
  if (name === 'postgresql' || name === 'chain') return name;
  if (DEMO_PROVIDERS.some((p) => p.hosts.some((h) => h.hostId === name))) return 'host-agent';
  return undefined;
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `probe` until it gives a value; `abort` names a reason to give up at once (a process that died). A probe
 * still pending after `probeTimeoutMs` counts as a failed try (a request on a socket whose server died may never settle).
 */
export async function waitUntil<T>(probe: () => Promise<T | false | undefined | null>, timeoutMs: number, what: string,
  abort: () => string | undefined = () => undefined, probeTimeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = abort();
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const value = await Promise.race([probe(), new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error(`no answer within ${probeTimeoutMs} ms`)), probeTimeoutMs).unref();
      })]);
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stacks not stopped yet: a test that times out stops them in afterAll (no 'exit' event when jest kills its worker). */
const liveStacks = new Set<() => Promise<void>>();

export async function stopLiveStacks(): Promise<void> {
  await Promise.all([...liveStacks].map((stop) => stop()));
}

export async function startChaosStack(opts: ChaosStackOptions): Promise<ChaosStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-chaos-'));
  // mkdtemp makes it 0700: PostgreSQL, run as `postgres` when we are root, must reach its data folder inside.
  await chmod(dataDir, 0o755);
  const ports = { api: opts.portBase, temporal: opts.portBase + 400, postgres: opts.portBase + 500, solana: opts.portBase + 600,
    temporalUi: opts.portBase + 700, pglite: opts.portBase + 800 };
  const own = new Supervisor({ out: opts.log, restartDelayMs: 500 });
  // The driver's processes by target name: the supervised name of their current incarnation.
  const incarnations = new Map<string, { name: string; spec: ProcessSpec; count: number }>();
  const startOwn = (target: string, spec: Omit<ProcessSpec, 'name' | 'restart'>) => {
    const previous = incarnations.get(target);
    const count = (previous?.count ?? 0) + 1;
    const name = count === 1 ? target : `${target}~${count}`;
    own.start({ ...spec, name, restart: false });
    incarnations.set(target, { name, spec: { ...spec, name, restart: false }, count });
  };
  let launcher: ChildProcess | undefined;
  const stoppers: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
      liveStacks.delete(stop);
    })());
  liveStacks.add(stop);
  process.once('exit', () => {
    own.killAllNow();
    // SIGTERM, not SIGKILL: the launcher then stops its own children (each in a process group of its own) in order.
    if (launcher !== undefined && launcher.exitCode === null) launcher.kill('SIGTERM');
  });

  try {
    // Embedded: a real PostgreSQL for the engine in place of PGlite, so that it can be killed and restarted.
    let databaseUrl: string | undefined;
    if (opts.topology === 'embedded') {
      const pg = { dataDir: path.join(dataDir, 'postgresql'), port: ports.postgres, superuser: SUPERUSER };
      await mkdir(pg.dataDir, { recursive: true });
      await initLocalPostgres(pg);
      startOwn('postgresql', { ...localPostgresProcess(pg) });
      await waitForPostgres(localPostgresUrl(pg, 'postgres'), { timeoutMs: 60_000 });
      await ensureDatabase(localPostgresUrl(pg, 'postgres'), 'lease_engine');
      databaseUrl = localPostgresUrl(pg, 'lease_engine');
    }
    stoppers.push(() => own.stop());

    launcher = spawnTiedToParent(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/start.ts')], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LEASE_ENGINE_TOPOLOGY: opts.topology,
        // Each Temporal service its own process, so that each can be killed on its own.
        TEMPORAL_SERVER_SERVICES: 'separate',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        API_PORT: String(ports.api), TEMPORAL_PORT: String(ports.temporal), CLUSTER_POSTGRES_PORT: String(ports.postgres),
        SOLANA_RPC_PORT: String(ports.solana), TEMPORAL_UI_PORT: String(ports.temporalUi), PGLITE_PORT: String(ports.pglite),
        SETTLEMENT_PERIOD_SECONDS: String(opts.settlementPeriodSeconds),
        HEARTBEAT_TIMEOUT_SECONDS: String(opts.heartbeatTimeoutSeconds),
        PROOF_INTERVAL_SECONDS: String(opts.proofIntervalSeconds),
        QUEUE_TIMEOUT_SECONDS: '20',
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      },
    });
    launcher.stdout!.pipe(opts.log, { end: false });
    launcher.stderr!.pipe(opts.log, { end: false });
    const launcherExited = new Promise<void>((resolve) => launcher!.once('exit', () => resolve()));
    stoppers.push(async () => {
      if (launcher!.exitCode !== null || launcher!.signalCode !== null) return;
      launcher!.kill('SIGTERM');
      const force = setTimeout(() => launcher!.pid !== undefined && process.kill(-launcher!.pid, 'SIGKILL'), 30_000);
      await launcherExited;
      clearTimeout(force);
    });

    const demoFile = path.join(dataDir, 'demo.json');
    const readDemo = (): DemoFile => JSON.parse(readFileSync(demoFile, 'utf8')) as DemoFile;
    // Written once everything is up (and the hosts online), then rewritten on every spawn.
    await waitUntil(async () => existsSync(demoFile) && readDemo().customers.length > 0, 600_000, `the ${opts.topology} topology up`,
      () => (launcher!.exitCode !== null ? `the launcher exited (${launcher!.exitCode}); its output is in the chaos log` : undefined));
    const demo = readDemo();
    const state = JSON.parse(readFileSync(path.join(dataDir, 'demo-state.json'), 'utf8')) as DemoState;
    if (!demo.solana) throw new Error('the launcher runs no local chain node');

    const db = createDb(databaseUrl ?? localPostgresUrl({ port: ports.postgres, superuser: SUPERUSER }, 'lease_engine'), { max: 4 });
    stoppers.push(() => db.destroy());
    const temporalAddress = `127.0.0.1:${ports.temporal}`;
    const temporalConnection = await TemporalConnection.connect({ address: temporalAddress });
    stoppers.push(() => temporalConnection.close());
    const workflow = new WorkflowClient({ connection: temporalConnection, namespace: 'default' });
    const solana = demo.solana;
    const chain = () => new Connection(solana.rpcUrl, { commitment: 'confirmed', wsEndpoint: solana.wsUrl });

    // The fleet simulator: its hosts belong to providers of their own (up to 10, round-robin: failover looks
    // outside the lost host's provider), and their H100s undercut the demo fleet's, so that H100 leases land
    // on it and other models on the demo fleet's host agents.
    if (opts.simulatedHosts > 0) {
      const providers = [];
      for (let i = 0; i < Math.min(10, opts.simulatedHosts); i++) providers.push(await createProvider(db, `chaos-${i}-${Date.now()}`, 1));
      startOwn(SIMULATOR, {
        command: process.execPath,
        args: ['--import', 'tsx', path.join(ROOT, 'workers/fleet-simulator/main.ts'), '--hosts', String(opts.simulatedHosts),
          '--api-url', demo.apiUrl, '--gpus', SIMULATED_GPUS, '--host-prefix', 'chaos', '--key-dir', path.join(dataDir, 'fleet'),
          '--report-interval', String(opts.reportIntervalSeconds), '--stats-interval', '60', '--log-level', 'warn'],
        env: { PATH: process.env.PATH, HOME: process.env.HOME, PROVIDER_KEYS: providers.map((p) => p.apiKey).join(',') },
        cwd: ROOT,
      });
      await waitUntil(async () => {
        const { n } = await db.selectFrom('hosts').select(sql<string>`count(*)`.as('n')).where('id', 'like', 'chaos-%').where('status', '=', 'online').executeTakeFirstOrThrow();
        return Number(n) >= opts.simulatedHosts;
      }, 120_000, 'every simulated host online');
    }

    const hostAgentSpec = (hostId: string): ProcessSpec => {
      const provider = DEMO_PROVIDERS.find((p) => p.hosts.some((h) => h.hostId === hostId))!;
      const host = provider.hosts.find((h) => h.hostId === hostId)!;
      return hostAgentProcess({ host, providerKey: state.providers[provider.key]?.apiKey ?? '', apiUrl: demo.apiUrl, dataDir }, process.env);
    };

    const pid = (target: ChaosTarget): number | undefined => {
      const mine = incarnations.get(target.name);
      if (mine) return own.pid(mine.name);
      const value = readDemo().supervised?.[target.name];
      return value === null || value === undefined || !alive(value) ? undefined : value;
    };

    const targets = (): ChaosTarget[] => {
      const launched = Object.keys(readDemo().supervised ?? {}).flatMap((name): ChaosTarget[] => {
        const kind = kindOf(name);
        if (!kind || incarnations.has(name)) return [];
        return [{ name, kind, restartedBy: kind === 'host-agent' ? 'driver' : 'launcher' }];
      });
      const driven = [...incarnations.keys()].map((name): ChaosTarget => ({
        name, kind: name === SIMULATOR ? 'fleet-simulator' : (kindOf(name) ?? 'host-agent'), restartedBy: 'driver',
      }));
      return [...launched, ...driven];
    };

    const apiPort = (name: string): number => {
      const index = /^api-(\d+)$/.exec(name)?.[1];
      return index === undefined ? ports.api : ports.api + Number(index);
    };

    const working = async (target: ChaosTarget, newPid: number, since: Date): Promise<boolean> => {
      switch (target.kind) {
        case 'api':
          return (await fetch(`http://127.0.0.1:${apiPort(target.name)}/openapi.json`)).ok;
        case 'control-worker': {
          // Polling both sides of the control task queue as the new process (identity "pid@host").
          for (const taskQueueType of [1, 2]) {
            const { pollers } = await temporalConnection.workflowService.describeTaskQueue({
              namespace: 'default', taskQueue: { name: CONTROL_TASK_QUEUE }, taskQueueType,
            });
            if (!pollers.some((poller) => poller.identity?.startsWith(`${newPid}@`))) return false;
          }
          return true;
        }
        case 'postgresql':
          await sql`select 1`.execute(db);
          return true;
        case 'chain': {
          // A plain request on a new connection: the point is whether the new node answers, not whether a client's pooled socket noticed.
          const response = await fetch(solana.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' }), signal: AbortSignal.timeout(3_000) });
          return response.ok && typeof ((await response.json()) as { result?: unknown }).result === 'number';
        }
        case 'host-agent':
        case 'fleet-simulator': {
          const like = target.kind === 'host-agent' ? target.name : 'chaos-%';
          const { n } = await db.selectFrom('hosts').select(sql<string>`count(*)`.as('n')).where('id', 'like', like).where('last_heartbeat_at', '>', since)
            .executeTakeFirstOrThrow();
          return Number(n) >= (target.kind === 'host-agent' ? 1 : opts.simulatedHosts);
        }
        default:
          // A Temporal service: the cluster answers a call that needs the frontend and history again.
          await temporalConnection.workflowService.describeNamespace({ namespace: 'default' });
          await workflow.count();
          return true;
      }
    };

    return {
      topology: opts.topology,
      apiUrl: demo.apiUrl,
      customerKeys: demo.customers.map((c) => c.apiKey),
      dataDir,
      db,
      workflow,
      chain,
      targets,
      pid,
      kill: async (target) => {
        const victim = pid(target);
        if (victim === undefined) throw new Error(`${target.name} is not running`);
        try {
          process.kill(-victim, 'SIGKILL');
        } catch {
          process.kill(victim, 'SIGKILL');
        }
        await waitUntil(async () => !alive(victim) || (pid(target) !== victim), 10_000, `${target.name} (${victim}) gone`);
        return victim;
      },
      restart: async (target) => {
        if (target.restartedBy !== 'driver') return;
        const mine = incarnations.get(target.name);
        const { name: _name, restart: _restart, ...spec } = mine?.spec ?? hostAgentSpec(target.name);
        startOwn(target.name, spec);
      },
      recovered: async (target, oldPid, timeoutMs) => {
        const since = new Date();
        await waitUntil(async () => {
          const now = pid(target);
          return now !== undefined && now !== oldPid && (await working(target, now, since));
        }, timeoutMs, `${target.name} back and working`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
