/**
 * A benchmark's life: its result goes to stdout as one JSON object and nothing else does, and
 * whatever it started is torn down in reverse order, on success, failure or Ctrl-C.
 *
 * The engine's children (the Temporal dev server's banner, host agents' logs) write to the stdout
 * they inherit, so the benchmark runs in a child process whose stdout *is* our stderr, and hands its
 * result back on a pipe of its own (fd 3); this process prints it.
 */
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import pino from 'pino';

export const log = pino({ name: 'bench', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));

const CHILD_ENV = 'LEASE_ENGINE_BENCH_CHILD';
const RESULT_FD = 3;

const cleanups: { what: string; run: () => Promise<unknown> }[] = [];

/** Registers a teardown step; steps run last-registered first. */
export function deferCleanup(what: string, run: () => Promise<unknown>): void {
  cleanups.push({ what, run });
}

async function runCleanups(): Promise<void> {
  for (let step = cleanups.pop(); step; step = cleanups.pop()) {
    try {
      await step.run();
    } catch (error) {
      log.warn({ err: error, step: step.what }, 'cleanup step failed');
    }
  }
}

export function runBenchmark(name: string, bench: () => Promise<unknown>): void {
  if (process.env[CHILD_ENV] === '1') runInChild(name, bench);
  else relaunch();
}

function relaunch(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, [CHILD_ENV]: '1' },
    stdio: ['inherit', 2, 'inherit', 'pipe'],
  });
  const chunks: Buffer[] = [];
  (child.stdio[RESULT_FD] as Readable).on('data', (chunk: Buffer) => chunks.push(chunk));
  // Ctrl-C reaches the child too (same process group): it cleans up and exits, and so do we after it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('close', (code, signal) => {
    if (chunks.length > 0) writeSync(1, Buffer.concat(chunks));
    process.exit(code ?? (signal ? 1 : 0));
  });
}

/** Runs the benchmark, sends its result, cleans up and exits (the Temporal runtime would keep the process alive). */
function runInChild(name: string, bench: () => Promise<unknown>): void {
  let stopping = false;
  const interrupt = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.warn({ signal }, 'interrupted: cleaning up');
    void runCleanups().finally(() => process.exit(130));
  };
  // Not `once`: a second Ctrl-C must not kill the process half-way through its cleanup.
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  void (async () => {
    let exitCode = 0;
    try {
      const result = await bench();
      writeSync(RESULT_FD, `${JSON.stringify(result, null, 2)}\n`);
    } catch (error) {
      log.error({ err: error }, `${name} failed`);
      exitCode = 1;
    }
    stopping = true;
    await runCleanups();
    process.exit(exitCode);
  })();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
