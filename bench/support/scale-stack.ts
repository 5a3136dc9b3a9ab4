/**
 * The engine bench:scale loads, in either topology, seen through what the benchmark needs of it: where
 * customers and hosts send requests, the database and Temporal to read the results from, the chain for
 * the floor transaction, and the processes whose CPU and memory it measures (each part a root process;
 * its descendants are counted with it).
 *
 * - embedded: test/support's engine (throwaway PostgreSQL 15, Temporal dev server, the control worker
 *   in its own process), plus an API process of its own for the hosts; the customers' API and the local
 *   chain node stay in the benchmark process.
 * - cluster: `npm run start:cluster`'s launcher (scripts/start.ts with LEASE_ENGINE_TOPOLOGY=cluster) on
 *   ports of its own and a fresh DATA_DIR: PostgreSQL, Temporal's server on it, two API processes behind
 *   one address, two control workers, the chain node, and its demo fleet (whose H100s cost more than the
 *   benchmark's leases accept, so every lease lands on a simulated host).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection as TemporalConnection, WorkflowClient } from '@temporalio/client';
import type { Keypair } from '@solana/web3.js';
import { Connection } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import { createDb } from '../../infra/db/connection';
import { localPostgresUrl } from '../../infra/db/local-postgres';
import type { Database } from '../../infra/db/schema';
import { readKeypair } from '../../infra/solana/chain-node/keypair-file';
import { startEngine, waitFor } from '../../test/support/engine';
import { freePort } from '../../test/support/postgres';
import { ensurePostgres } from './bench-engine';
import { deferCleanup, log } from './lifecycle';
import { findProcess } from './process-usage';

const ROOT = path.resolve(__dirname, '../..');

export interface ScaleTimings {
  heartbeatTimeoutSeconds: number;
  proofIntervalSeconds: number;
  settlementPeriodSeconds: number;
  queueTimeoutSeconds: number;
}

export interface ScaleStack {
  topology: 'embedded' | 'cluster';
  description: string;
  customerApiUrl: string;
  hostApiUrl: string;
  /** /metrics of every API process, split by the traffic it serves. */
  metricsUrls: { hosts: string[]; customers: string[] };
  customerKeys: string[];
  db: Kysely<Database>;
  workflow: WorkflowClient;
  connection: Connection;
  /** Pays the floor's bare transaction (the chain's faucet: nothing the leases use). */
  floorPayer: Keypair;
  /** Root pid of each part, looked up now (a restarted process has a new one). */
  parts(): Record<string, number | undefined>;
}

/** Spawns `file` with tsx; its output goes to our stderr, and it is stopped by the benchmark's cleanup. */
export function spawnTs(name: string, file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // SCALE_CPU_PROFILE_DIR: each process the benchmark starts writes a V8 CPU profile there when it stops.
  // A folder per process: tsx's loader thread writes a profile of its own beside the main thread's.
  const profile = process.env.SCALE_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.SCALE_CPU_PROFILE_DIR, name.replace(/\W+/g, '-'))}`] : [];
  // SCALE_PERF_MAP=1: each process writes /tmp/perf-<pid>.map, so `perf` names its JavaScript frames. A V8 profile
  // samples wall time on a saturated machine (a descheduled thread is sampled where it stopped); perf counts CPU.
  if (process.env.SCALE_PERF_MAP === '1') profile.push('--perf-basic-prof');
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, file), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(process.stderr);
  child.stderr!.pipe(process.stderr);
  child.once('exit', (code, signal) => log.info({ name, code, signal }, 'process exited'));
  deferCleanup(name, () => stopChild(child));
  return child;
}

export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME });
const timingEnv = (t: ScaleTimings): NodeJS.ProcessEnv => ({
  HEARTBEAT_TIMEOUT_SECONDS: String(t.heartbeatTimeoutSeconds),
  PROOF_INTERVAL_SECONDS: String(t.proofIntervalSeconds),
  SETTLEMENT_PERIOD_SECONDS: String(t.settlementPeriodSeconds),
  QUEUE_TIMEOUT_SECONDS: String(t.queueTimeoutSeconds),
});

async function answers(url: string, child: ChildProcess, what: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`);
    return (await fetch(url)).ok;
  }, timeoutMs, what);
}

export async function startEmbeddedStack(timings: ScaleTimings): Promise<ScaleStack> {
  await ensurePostgres();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-scale-'));
  deferCleanup('scale data', () => rm(dataDir, { recursive: true, force: true }));
  const started = Date.now();
  // SCALE_CPU_PROFILE_DIR profiles the control worker too (its main thread and its workflow threads).
  const profileDir = process.env.SCALE_CPU_PROFILE_DIR;
  const engine = await startEngine({ hosts: [], controlWorker: 'process', ...timings,
    controlWorkerNodeArgs: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, 'control-worker')}`] : []),
      ...(process.env.SCALE_PERF_MAP === '1' ? ['--perf-basic-prof'] : [])] });
  deferCleanup('engine', () => engine.stop());
  log.info({ ms: Date.now() - started }, 'embedded engine up');

  const port = await freePort();
  const hostApi = spawnTs('host-api', 'api/server.ts', [], {
    ...baseEnv(), ...timingEnv(timings),
    DATABASE_URL: engine.database.url, TEMPORAL_ADDRESS: engine.temporal.address, SOLANA_RPC_URL: engine.connection.rpcEndpoint,
    API_PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', DEMO_PAYOUT_ACCOUNTS: 'true',
  });
  const hostApiUrl = `http://127.0.0.1:${port}`;
  await answers(`${hostApiUrl}/openapi.json`, hostApi, 'the host API', 120_000);

  const temporalPort = engine.temporal.address.split(':').pop()!;
  const postgresPort = new URL(process.env.TEST_POSTGRES_ADMIN_URL ?? engine.database.url).port;
  return {
    topology: 'embedded',
    description: 'startEngine (controlWorker: process): throwaway PostgreSQL 15, Temporal dev server, the control worker and fleet monitor in ' +
      'their own process, an API process for the hosts; the customers\' API and the local chain node in the benchmark process',
    customerApiUrl: engine.apiUrl,
    hostApiUrl,
    metricsUrls: { hosts: [`${hostApiUrl}/metrics`], customers: [`${engine.apiUrl}/metrics`] },
    customerKeys: engine.customers.map((c) => c.apiKey),
    db: engine.database.db,
    workflow: engine.temporal.client.workflow,
    connection: engine.connection,
    floorPayer: readKeypair(path.join(engine.solana.keysDir, 'faucet.json')),
    parts: () => ({
      temporal: findProcess(['start-dev', `--port ${temporalPort}`]),
      database: findProcess(['postgres', '-D', `-p ${postgresPort} `]),
      controlWorker: engine.controlWorkerProcess()?.pid,
      hostApi: hostApi.pid,
      // The customers' API and the chain node share this process with the driver.
      benchProcess: process.pid,
    }),
  };
}

interface ClusterDemoFile {
  apiUrl: string;
  customers: { apiKey: string }[];
  solana: { rpcUrl: string; wsUrl: string } | null;
  supervised?: Record<string, number | null>;
}

/** Ports of the cluster launcher's servers, away from the defaults a developer's `npm start` may hold. */
function clusterPorts(base: number) {
  return { api: base, temporal: base + 400, postgres: base + 500, solana: base + 600, temporalUi: base + 700, pglite: base + 800 };
}

export async function startClusterStack(timings: ScaleTimings): Promise<ScaleStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-scale-cluster-'));
  // PostgreSQL runs as its own user (initdb refuses root): it must reach its folder inside this one.
  await chmod(dataDir, 0o755);
  deferCleanup('scale cluster data', () => rm(dataDir, { recursive: true, force: true }));
  const ports = clusterPorts(Number(process.env.SCALE_CLUSTER_PORT_BASE ?? 21_000));
  const launcher = spawnTs('cluster launcher', 'scripts/start.ts', [], {
    ...process.env, ...timingEnv(timings),
    LEASE_ENGINE_TOPOLOGY: 'cluster', DATA_DIR: dataDir, LOG_LEVEL: 'warn',
    API_PORT: String(ports.api), TEMPORAL_PORT: String(ports.temporal), CLUSTER_POSTGRES_PORT: String(ports.postgres),
    SOLANA_RPC_PORT: String(ports.solana), TEMPORAL_UI_PORT: String(ports.temporalUi), PGLITE_PORT: String(ports.pglite),
  });
  const demoFile = path.join(dataDir, 'demo.json');
  // The launcher says so when its start-up fails, then stops what it started (which can take a while).
  let failed: string | undefined;
  launcher.stdout!.on('data', (chunk: Buffer) => {
    failed ??= /start-up failed: (.*)/.exec(chunk.toString('utf8'))?.[1];
  });
  const started = Date.now();
  // Not waitFor: it retries through errors, and a failed launcher is final.
  while (!existsSync(demoFile)) {
    if (failed !== undefined) throw new Error(`the cluster launcher failed to start: ${failed}`);
    if (launcher.exitCode !== null) throw new Error(`the cluster launcher exited (${launcher.exitCode})`);
    if (Date.now() - started > 900_000) throw new Error('the cluster topology was not up (data/demo.json written) within 900 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log.info({ ms: Date.now() - started }, 'cluster topology up');
  const readDemo = () => JSON.parse(readFileSync(demoFile, 'utf8')) as ClusterDemoFile;
  const demo = readDemo();
  if (!demo.solana) throw new Error('the cluster launcher runs no local chain node: the floor transaction needs one');

  const db = createDb(localPostgresUrl({ port: ports.postgres, superuser: 'lease' }, 'lease_engine'), { max: 4 });
  deferCleanup('cluster database pool', () => db.destroy());
  const temporalConnection = await TemporalConnection.connect({ address: `127.0.0.1:${ports.temporal}` });
  deferCleanup('cluster Temporal connection', () => temporalConnection.close());
  const apiBackends = Object.keys(demo.supervised ?? {}).filter((name) => /^api(-\d+)?$/.test(name)).length || 1;
  const metrics = Array.from({ length: apiBackends }, (_, i) => `http://127.0.0.1:${ports.api + 1 + i}/metrics`);
  return {
    topology: 'cluster',
    description: 'scripts/start.ts with LEASE_ENGINE_TOPOLOGY=cluster: PostgreSQL 15, Temporal\'s server on it, API processes behind one ' +
      'address (the launcher\'s balancer), control workers, the local chain node and the demo fleet',
    customerApiUrl: demo.apiUrl,
    hostApiUrl: demo.apiUrl,
    // Behind one balancer: every API process serves both kinds of traffic.
    metricsUrls: { hosts: metrics, customers: [] },
    customerKeys: demo.customers.map((c) => c.apiKey),
    db,
    workflow: new WorkflowClient({ connection: temporalConnection, namespace: 'default' }),
    connection: new Connection(demo.solana.rpcUrl, { commitment: 'confirmed', wsEndpoint: demo.solana.wsUrl }),
    floorPayer: readKeypair(path.join(dataDir, 'keys', 'faucet.json')),
    parts: () => {
      const supervised = readDemo().supervised ?? {};
      const parts: Record<string, number | undefined> = { launcher: launcher.pid };
      for (const [name, pid] of Object.entries(supervised)) {
        // The demo fleet's host agents are not part of the engine.
        if (/^(api|control-worker|temporal|postgresql|chain)/.test(name)) parts[name] = pid ?? undefined;
      }
      parts.benchProcess = process.pid;
      return parts;
    },
  };
}
