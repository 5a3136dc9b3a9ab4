import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import { connectWithRetry } from './connection';
import { leaseSearchAttributeTypes } from './search-attributes';

export interface TemporalDevServerOptions {
  cliPath: string;
  ip: string;
  port: number;
  uiPort: number;
  /** SQLite file that keeps workflows across restarts; in memory when absent. */
  dbFile?: string;
  namespace: string;
  /** No Web UI (tests). */
  headless?: boolean;
}

export interface TemporalDevServer {
  address: string;
  /** The Web UI, absent when headless. */
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `go install` puts the CLI here (scripts/lib/temporal-cli.sh pins GOBIN to it); TEMPORAL_CLI overrides. */
export function defaultTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_CLI ?? path.join(os.homedir(), 'go', 'bin', 'temporal');
}

const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/**
 * The command line of `temporal server start-dev` with the lease workflow's search attributes, so that
 * a launcher can supervise the process itself (restart it when it dies) with the same arguments.
 */
export function temporalDevServerArgs(opts: Omit<TemporalDevServerOptions, 'cliPath'>): string[] {
  const args = ['server', 'start-dev', '--ip', opts.ip, '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.dbFile !== undefined) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  // "default" always exists; another namespace must be created at start.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [name, type] of Object.entries(leaseSearchAttributeTypes())) {
    args.push('--search-attribute', `${name}=${CLI_TYPE[type]}`);
  }
  return args;
}

/**
 * Resolves once the frontend answers `getSystemInfo`, rejects if it does not within `timeoutMs` or if
 * `exited` (the server process's exit) settles first.
 */
export async function waitForTemporal(
  address: string,
  opts: { timeoutMs?: number; exited?: Promise<unknown> } = {},
): Promise<void> {
  const giveUp = new AbortController();
  void opts.exited?.then(() => giveUp.abort('the Temporal dev server exited'));
  const connection = await connectWithRetry(address, { timeoutMs: opts.timeoutMs ?? 60_000, signal: giveUp.signal });
  await connection.close();
}

/** Starts a Temporal dev server (with its Web UI unless headless) and waits until it answers. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const address = `${opts.ip}:${opts.port}`;
  // A server left over from an earlier run would answer the readiness check in this one's place.
  await ensurePortFree(opts.ip, opts.port, 'Temporal frontend');
  if (!opts.headless) await ensurePortFree(opts.ip, opts.uiPort, 'Temporal UI');
  const child = spawn(opts.cliPath, temporalDevServerArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept for the error message: the server says why it could not start (port in use, bad db file).
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    await waitForTemporal(address, { exited });
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}${output ? `\n${output.trim()}` : ''}`, { cause: error });
  }
  return {
    address,
    uiUrl: opts.headless ? undefined : `http://${opts.ip}:${opts.uiPort}`,
    process: child,
    stop,
  };
}

async function ensurePortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error) => reject(new Error(`${what} port ${host}:${port} is in use: ${error.message}`)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
