/**
 * Real PostgreSQL for integration tests (TOOLCHAIN: PostgreSQL 15 binaries, initdb refuses root).
 * One throwaway cluster per jest run (global-setup.ts), and a fresh, migrated database per test file
 * so that files run in parallel without seeing each other's rows.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { Client } from 'pg';
import { createDb } from '../../infra/db/connection';
import { migrateToLatest } from '../../infra/db/migrate';
import type { Database } from '../../infra/db/schema';

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'lease';

export interface PostgresCluster {
  /** Superuser URL of the cluster's `postgres` database. */
  adminUrl: string;
  dir: string;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL binary as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
async function pgRun(binary: string, args: string[]): Promise<void> {
  const file = path.join(PG_BIN, binary);
  const asRoot = process.getuid?.() === 0;
  try {
    await (asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args));
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${binary} failed: ${stderr?.trim() || (error as Error).message}`, { cause: error });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-pg-'));
  if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', dir]);
  const port = await freePort();
  await pgRun('initdb', ['-D', dir, '-A', 'trust', '-U', SUPERUSER, '--no-sync']);
  // Durability is worthless for a throwaway cluster: turning it off makes commits cheap.
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  await pgRun('pg_ctl', ['-D', dir, '-o', settings, '-l', path.join(dir, 'log'), '-w', 'start']);
  return {
    adminUrl: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`,
    dir,
    stop: async () => {
      // Fast, not immediate: backends are gone before the directory is removed under them.
      await pgRun('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

export interface FreshDatabase {
  url: string;
  db: Kysely<Database>;
  /** Closes `db` and drops the database (connections other code left open are cut). */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_POSTGRES_ADMIN_URL;
  if (!url) throw new Error('TEST_POSTGRES_ADMIN_URL is unset: run integration tests through jest (its global setup starts PostgreSQL)');
  return url;
}

async function withAdmin(work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** A new database with a random name on the test cluster, migrated unless `migrate: false`. */
export async function freshDatabase(opts: { max?: number; migrate?: boolean } = {}): Promise<FreshDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`).then(() => undefined));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { max: opts.max ?? 10 });
  try {
    if (opts.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    db,
    drop: () =>
      (dropped ??= db
        .destroy()
        .then(() => withAdmin((client) => client.query(`drop database if exists ${name} with (force)`).then(() => undefined)))),
  };
}
