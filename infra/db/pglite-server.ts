import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A plain PostgreSQL URL: every process (API, control worker) connects with `pg` as to a real server. */
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The engine's data directory; the database lives in `<dataDir>/pglite` and survives restarts. */
  dataDir: string;
  port: number;
  host?: string;
}

/**
 * The default database when DATABASE_URL is unset (DESIGN §7). PGlite is one connection inside one
 * process, so it is served over the PostgreSQL wire protocol: the socket server queues queries and
 * keeps each client's transaction whole (a second client waits until the first one's transaction
 * ends), which is what lets the same code run unchanged against a real server in production.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const dir = path.join(path.resolve(options.dataDir), 'pglite');
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: 10 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw new Error(`cannot serve the embedded database on ${host}:${options.port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let closing: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${host}:${options.port}/postgres`,
    // Idempotent: shutdown paths (signal handler, test teardown) may both call it.
    close: () => (closing ??= server.stop().then(() => db.close())),
  };
}
