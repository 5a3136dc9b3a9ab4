/**
 * The real engine of test/support/engine.ts, started outside jest: a throwaway PostgreSQL cluster
 * (what jest's global setup does), then the engine, both torn down by the benchmark's cleanup.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { EngineOptions, TestEngine } from '../../test/support/engine';
import { startEngine } from '../../test/support/engine';
import { startPostgresCluster } from '../../test/support/postgres';
import { removeContainers } from './containers';
import { deferCleanup, log } from './lifecycle';

export { DEMO_IMAGE, SLEEP_FOREVER, waitFor } from '../../test/support/engine';
export type { TestEngine } from '../../test/support/engine';

let clusterStarted = false;

/** One cluster per benchmark process; freshDatabase() finds it through TEST_POSTGRES_ADMIN_URL. */
export async function ensurePostgres(): Promise<void> {
  if (clusterStarted || process.env.TEST_POSTGRES_ADMIN_URL) return;
  if (process.env.TEST_POSTGRES_URL) {
    process.env.TEST_POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL;
    return;
  }
  const cluster = await startPostgresCluster();
  clusterStarted = true;
  process.env.TEST_POSTGRES_ADMIN_URL = cluster.adminUrl;
  deferCleanup('postgres cluster', () => cluster.stop());
}

export interface BenchEngine {
  engine: TestEngine;
  /** Stops the engine now (also done by the cleanup if the benchmark dies first). */
  stop(): Promise<void>;
}

/**
 * Starts an engine. Every container any of its hosts ever ran is removed when it stops: a SIGKILLed
 * agent leaves its containers running, by design.
 */
export async function startBenchEngine(docker: Docker, options: EngineOptions): Promise<BenchEngine> {
  await ensurePostgres();
  const started = Date.now();
  const engine = await startEngine(options);
  log.info({ hosts: options.hosts.map((h) => `${h.hostId}=${h.gpus}`), startupMs: Date.now() - started }, 'engine up');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try {
        await engine.stop();
      } catch (error) {
        log.warn({ err: error }, 'engine did not stop cleanly; tearing its parts down one by one');
        await tearDownParts(engine);
      } finally {
        await removeContainers(docker, options.hosts.map((h) => `lease-engine.host=${h.hostId}`));
      }
    })());
  deferCleanup('engine', stop);
  return { engine, stop };
}

/**
 * What engine.stop() would have done, for when it could not: on Ctrl-C or SIGTERM the Temporal
 * runtime shuts the control worker down by itself, and engine.stop() then throws at its first step.
 * The API and the worker live in this process and end with it.
 */
async function tearDownParts(engine: TestEngine): Promise<void> {
  const keyDirs = new Set<string>();
  await Promise.all(
    [...engine.hostProcesses.values()].map((child) => {
      const at = child.spawnargs.indexOf('--key-file');
      const keyDir = at >= 0 ? path.dirname(child.spawnargs[at + 1] ?? '') : '';
      // Only the engine's own temporary folder, whatever the arguments say.
      if (path.dirname(keyDir) === os.tmpdir() && path.basename(keyDir).startsWith('lease-engine-test-')) keyDirs.add(keyDir);
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      return new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }),
  );
  await engine.temporal.teardown().catch((error: unknown) => log.warn({ err: error }, 'Temporal dev server teardown failed'));
  await engine.database.drop().catch(() => undefined);
  for (const dir of keyDirs) await rm(dir, { recursive: true, force: true });
}
