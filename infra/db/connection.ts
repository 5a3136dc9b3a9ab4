import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { Database } from './schema';

export interface DbOptions {
  /** Pool size; PGlite serialises transactions anyway, real PostgreSQL benefits from more. */
  max?: number;
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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
