/**
 * The embedded PostgreSQL server in a child process under tsx, as the launcher runs it: PGlite loads Node
 * built-ins with dynamic import(), which jest's module sandbox refuses.
 */
import { spawnTiedToParent } from '../../../scripts/launcher/tied-spawn';
import path from 'node:path';
import { createInterface } from 'node:readline';

const SERVER_SCRIPT = `
const { startEmbeddedPostgres } = require(${JSON.stringify(path.resolve(__dirname, '../../../infra/db/pglite-server.ts'))});
startEmbeddedPostgres({ dataDir: process.env.DATA_DIR, port: Number(process.env.PORT) }).then(
  (server) => {
    process.stdout.write(JSON.stringify({ url: server.url }) + '\\n');
    process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
  },
  (error) => { console.error(error); process.exit(1); },
);`;

export interface EmbeddedPostgresProcess {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgresProcess(dataDir: string, port: number): Promise<EmbeddedPostgresProcess> {
  const child = spawnTiedToParent(process.execPath, ['--import', 'tsx', '-e', SERVER_SCRIPT], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      // A server wedged by a broken client must not hang the test run.
      const wedged = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(wedged);
    },
  };
}
