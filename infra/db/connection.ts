import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { preparingPool } from './prepared-statements';
import type { Database } from './schema';

export interface DbOptions {
  /** Pool size; PGlite serialises transactions anyway, real PostgreSQL benefits from more. */
  max?: number;
  /**
   * Prepare each statement once per connection (infra/db/prepared-statements.ts); never on PGlite. Off
   * behind a pooler in transaction mode (DATABASE_PREPARED_STATEMENTS=false).
   */
  preparedStatements?: boolean;
}

/**
 * One kysely instance over a pg pool. pg's default parsers are kept on purpose: bigint (int8) comes
 * back as a string, which is what the schema's BaseUnits columns promise, so token amounts never
 * pass through a float.
 */
export function createDb(databaseUrl: string, opts: DbOptions = {}): Kysely<Database> {
  const pool = new Pool({ connectionString: databaseUrl, max: opts.max ?? 10 });
  // An idle client dies when PostgreSQL restarts; without a listener pg's 'error' event would crash
  // the process. The pool drops the client and the next query opens a fresh connection.
  pool.on('error', () => undefined);
  // The same for a client checked out when PostgreSQL goes away mid-query: its query fails (and is answered or retried
  // by its caller), but the socket's own 'error' event would otherwise take the whole process down with it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool, opts.preparedStatements ?? true) }) });
}

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
/** PostgreSQL's SQLSTATEs for a server that is shutting down, starting or unreachable (class 08 and 57P01-57P03). */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123])$/;

/** Whether `err` means the database cannot be reached now (retry later), rather than that a statement was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  return typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}
