/**
 * A PostgreSQL server of this machine's own binaries (PostgreSQL 15 in /usr/lib/postgresql/15/bin, PG_BIN
 * overrides) with its data in a folder that outlives restarts: the cluster topology's database, for the
 * engine and for Temporal. The server runs in the foreground so that a supervisor restarts it when it
 * dies; PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

export interface LocalPostgresOptions {
  /** PGDATA; created (initdb) at first start. */
  dataDir: string;
  port: number;
  /** The superuser initdb creates; local connections need no password (trust, loopback only). */
  superuser: string;
  binDir?: string;
}

export interface LocalPostgresProcess {
  command: string;
  args: string[];
  /** Set when we are root: the server runs as this user. */
  uid?: number;
  gid?: number;
}

const binDir = (opts: LocalPostgresOptions) => opts.binDir ?? process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** The `postgres` account when we are root (PostgreSQL will not run as root); undefined otherwise. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root needs a `postgres` user to run PostgreSQL as (the Debian postgresql packages create it)');
  }
}

/** initdb at first start; a folder that already holds a cluster is left as it is. */
export async function initLocalPostgres(opts: LocalPostgresOptions): Promise<{ created: boolean }> {
  if (existsSync(path.join(opts.dataDir, 'PG_VERSION'))) return { created: false };
  const initdb = path.join(binDir(opts), 'initdb');
  if (!existsSync(initdb)) throw new Error(`no PostgreSQL at ${binDir(opts)}: install PostgreSQL 15 or set PG_BIN`);
  // Parents traversable (the server runs as another user when we are root); the folder itself private.
  mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const account = serverAccount();
  if (account) chownSync(opts.dataDir, account.uid, account.gid);
  const args = ['-D', opts.dataDir, '-A', 'trust', '-U', opts.superuser, '--encoding', 'UTF8', '--no-instructions'];
  try {
    await (account ? run('runuser', ['-u', 'postgres', '--', initdb, ...args]) : run(initdb, args));
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`initdb ${opts.dataDir} failed: ${stderr?.trim() || (error as Error).message}`, { cause: error });
  }
  return { created: true };
}

/**
 * The foreground server. Loopback only; its socket file goes in the data folder, not /var/run/postgresql,
 * which may be missing or belong to the machine's own server.
 */
export function localPostgresProcess(opts: LocalPostgresOptions): LocalPostgresProcess {
  const settings = [
    ['listen_addresses', '127.0.0.1'],
    ['port', String(opts.port)],
    ['unix_socket_directories', opts.dataDir],
    // Two API processes, two control workers and Temporal's services each keep a connection pool.
    ['max_connections', '300'],
  ];
  return {
    command: path.join(binDir(opts), 'postgres'),
    args: ['-D', opts.dataDir, ...settings.flatMap(([name, value]) => ['-c', `${name}=${value}`])],
    ...serverAccount(),
  };
}

export const localPostgresUrl = (opts: Pick<LocalPostgresOptions, 'port' | 'superuser'>, database: string): string =>
  `postgres://${opts.superuser}@127.0.0.1:${opts.port}/${database}`;

/** Resolves once the server accepts connections; rejects after `timeoutMs` or when `exited` reports the process gone. */
export async function waitForPostgres(url: string, opts: { timeoutMs?: number; exited?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (opts.exited?.()) throw new Error(`PostgreSQL exited before it accepted connections on ${url}`);
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} did not accept connections: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Creates `name` on the server of `adminUrl` when it does not exist. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} must be a plain lower-case identifier`);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`create database ${name}`);
    return true;
  } finally {
    await client.end();
  }
}
