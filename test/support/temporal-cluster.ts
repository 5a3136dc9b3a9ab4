/**
 * Temporal's real server on PostgreSQL for integration tests (the cluster topology's server, issue 9): the
 * binaries scripts/setup.sh builds, its two databases made fresh on the test PostgreSQL cluster with the
 * schema tool, every port free, all services in one process. The same code the launcher runs
 * (infra/temporal/cluster-server.ts); only supervision differs.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTiedToParent } from '../../scripts/launcher/tied-spawn';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { TemporalServerInstall } from '../../infra/temporal/cluster-server';
import {
  MAX_MEMBERSHIP_PORT, prepareNamespace, prepareTemporalDatabases, temporalServerArgs, writeTemporalServerConfig,
} from '../../infra/temporal/cluster-server';
import { connectWithRetry } from '../../infra/temporal/connection';
import { waitForTemporal } from '../../infra/temporal/dev-server';
import { freePort } from './postgres';

/**
 * A free port at or below `max` (the OS hands out ephemeral ports above 32767, too high for Temporal's
 * membership ports): random tries in 20000–max, each bound once to see that it is free.
 */
async function freePortBelow(max: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * (max - 20_000));
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port found below ${max}`);
}

export interface TestTemporalCluster {
  address: string;
  process: ChildProcess;
  /** Stops the server, drops its databases and removes its config. */
  stop(): Promise<void>;
}

export async function startTestTemporalCluster(install: TemporalServerInstall): Promise<TestTemporalCluster> {
  const adminUrl = new URL(process.env.TEST_POSTGRES_ADMIN_URL ?? '');
  if (!adminUrl.port) throw new Error('TEST_POSTGRES_ADMIN_URL is unset: run integration tests through jest (its global setup starts PostgreSQL)');
  const suffix = randomBytes(4).toString('hex');
  const persistence = {
    host: adminUrl.hostname,
    port: Number(adminUrl.port),
    user: decodeURIComponent(adminUrl.username),
    database: `temporal_${suffix}`,
    visibilityDatabase: `temporal_visibility_${suffix}`,
  };
  const root = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-temporal-'));
  const dropDatabases = async () => {
    const client = new Client({ connectionString: adminUrl.toString() });
    await client.connect();
    try {
      for (const name of [persistence.database, persistence.visibilityDatabase]) await client.query(`drop database if exists ${name} with (force)`);
    } finally {
      await client.end();
    }
  };

  await prepareTemporalDatabases(install, persistence);
  const port = async () => ({ grpc: await freePort(), membership: await freePortBelow(MAX_MEMBERSHIP_PORT) });
  const ports = { frontend: await port(), history: await port(), matching: await port(), worker: await port(), frontendHttp: await freePort() };
  writeTemporalServerConfig({ root, persistence, ports, logLevel: 'error' });
  const child = spawnTiedToParent(install.server, temporalServerArgs(root), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept for the error message: the server says why it could not start.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await dropDatabases().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };

  const address = `127.0.0.1:${ports.frontend.grpc}`;
  try {
    await waitForTemporal(address, { timeoutMs: 60_000, exited });
    const connection = await connectWithRetry(address);
    try {
      await prepareNamespace(connection, 'default');
    } finally {
      await connection.close();
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}${output ? `\n${output.trim()}` : ''}`, { cause: error });
  }
  return { address, process: child, stop };
}
