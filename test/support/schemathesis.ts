/**
 * The schemathesis CLI (PyPI), as scripts/lib/schemathesis.sh installs it, run against a live API's own
 * /openapi.json; what it sent and got back is read from its NDJSON report, so a test can hold every
 * answer to the API's rules, not only to the checks schemathesis ships.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The version scripts/lib/schemathesis.sh pins; SCHEMATHESIS_HOME overrides where it lives, as there. */
export const SCHEMATHESIS_VERSION = '4.32.5';

export function schemathesisCli(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.SCHEMATHESIS_HOME ?? path.join(os.homedir(), '.cache', 'lease-engine', `schemathesis-${SCHEMATHESIS_VERSION}`);
  const cli = path.join(home, 'bin', 'schemathesis');
  if (!existsSync(cli)) throw new Error(`schemathesis is not installed at ${cli}: run 'bash scripts/setup.sh test' (or set SCHEMATHESIS_HOME)`);
  return cli;
}

export interface SchemathesisRun {
  openapiUrl: string;
  configFile: string;
  reportDir: string;
  /** Where it runs: it keeps caches there (.hypothesis, .schemathesis), so a throwaway folder, not the checkout. */
  cwd: string;
  maxExamples: number;
  seed: number;
  timeoutMs: number;
}

export interface SchemathesisResult {
  exitCode: number | null;
  /** The CLI's own report (failures with curl lines to reproduce them, the summary); the last 20,000 characters. */
  output: string;
}

/** Runs `schemathesis run` with one worker (its generator is not thread-safe on Python 3.11: seen) and no shrinking. */
export function runSchemathesis(run: SchemathesisRun): Promise<SchemathesisResult> {
  const args = [
    '--config-file', run.configFile, '--no-color',
    'run', run.openapiUrl,
    '--max-examples', String(run.maxExamples), '--seed', String(run.seed), '--no-shrink', '--workers', '1',
    '--output-truncate', 'true', '--report', 'ndjson', '--report-dir', run.reportDir,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesisCli(), args, { cwd: run.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code, output: signal ? `${output}\n(killed by ${signal} after ${run.timeoutMs} ms)` : output });
    });
  });
}

export interface Interaction {
  /** The operation as schemathesis names it, e.g. "GET /v1/leases/{id}" (or "Stateful tests"). */
  operation: string;
  method: string;
  /** Path and query as sent. */
  url: string;
  status: number;
  contentType: string;
  body: string;
}

interface RecordedInteraction {
  request: { method: string; uri: string };
  response?: { status_code: number; headers: Record<string, string[]>; content?: { $base64?: string } | null } | null;
}

const decode = (content: { $base64?: string } | null | undefined) => (content?.$base64 ? Buffer.from(content.$base64, 'base64').toString('utf8') : '');

/** Every request schemathesis sent that got an answer, from the NDJSON report it wrote into `reportDir`. */
export async function readInteractions(reportDir: string): Promise<Interaction[]> {
  const files = (await readdir(reportDir)).filter((file) => file.endsWith('.ndjson'));
  const interactions: Interaction[] = [];
  for (const file of files) {
    for (const line of (await readFile(path.join(reportDir, file), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { ScenarioFinished?: { recorder?: { label: string; interactions?: Record<string, RecordedInteraction> } } };
      const recorder = event.ScenarioFinished?.recorder;
      for (const recorded of Object.values(recorder?.interactions ?? {})) {
        const { request, response } = recorded;
        if (!response) continue;
        const uri = new URL(request.uri);
        interactions.push({
          operation: recorder!.label,
          method: request.method,
          url: `${uri.pathname}${uri.search}`,
          status: response.status_code,
          contentType: response.headers['content-type']?.[0] ?? '',
          body: decode(response.content),
        });
      }
    }
  }
  return interactions;
}
