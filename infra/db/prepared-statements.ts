/**
 * Every parameterised statement kysely sends becomes a named prepared statement on its connection, so
 * PostgreSQL parses and plans it once per connection instead of at every call. Kysely always sends the
 * same text for the same query shape, with the values apart, so a process has a few hundred of them.
 *
 * Why: a routine host report cost PostgreSQL 1.7 ms of CPU unprepared and 0.7 ms prepared, and the
 * API 1.5 ms against 1.0 ms (bench:host-report); planning was a third of the database's work.
 *
 * Where it does not apply, statements go unnamed as before:
 * - PGlite (the embedded default) is one backend session shared by every client connection
 *   (infra/db/pglite-server.ts): two connections preparing one name would collide. It is recognised by
 *   its version string on the pool's first connection.
 * - `preparedStatements: false` (DATABASE_PREPARED_STATEMENTS=false): behind a pooler in transaction mode
 *   (PgBouncer), a connection's prepared statements are not there for the next transaction.
 * - Past MAX_NAMED_TEXTS distinct texts, or a text over MAX_NAMED_TEXT_CHARS (a many-row insert): named
 *   statements live as long as their connection, so what is named must be bounded.
 *
 * A schema change that changes a prepared statement's result type makes PostgreSQL refuse it ("cached
 * plan must not change result type"): the text is given a fresh name, and run again at once when no
 * transaction is open (within one, the transaction has failed anyway and its caller retries it).
 */
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type { Pool, PoolClient } from 'pg';

export const MAX_NAMED_TEXTS = 1_000;
export const MAX_NAMED_TEXT_CHARS = 16_384;

const PGLITE = /\bPGlite\b/;
const OPENS_TRANSACTION = /^\s*(begin|start\s+transaction)\b/i;
const CLOSES_TRANSACTION = /^\s*(commit|end|abort|rollback(?!\s+to\b))\b/i;

/** Names statement texts, one name per text for the life of the process (and so on every connection). */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private issued = 0;

  constructor(private readonly limits = { texts: MAX_NAMED_TEXTS, chars: MAX_NAMED_TEXT_CHARS }) {}

  /** The name to prepare `text` under; undefined when it goes unnamed. */
  nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    if (text.length > this.limits.chars || this.names.size >= this.limits.texts) return undefined;
    const name = `lease_engine_${(this.issued += 1)}`;
    this.names.set(text, name);
    return name;
  }

  /** Forgets `text`'s name: the next call prepares it afresh under a new one. */
  rename(text: string): void {
    this.names.delete(text);
  }
}

/** PostgreSQL's refusal of a prepared statement whose result columns a schema change moved. */
export function isStalePreparedStatement(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

/** Whether the server behind `client` is PGlite (named statements would be shared by every connection). */
async function isPglite(client: PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ version: string }>('select version() as version');
  return PGLITE.test(rows[0]?.version ?? '');
}

/** `pool` for kysely's PostgresDialect, preparing statements as the module says unless `enabled` is false. */
export function preparingPool(pool: Pool, enabled = true): PostgresPool {
  const names = new StatementNames();
  let named: Promise<boolean> | undefined = enabled ? undefined : Promise.resolve(false);
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      try {
        // Decided on the first connection; a failed check is asked again on the next one.
        named ??= isPglite(client).then((pglite) => !pglite, (error: unknown) => {
          named = undefined;
          throw error;
        });
        if (!(await named)) return client as unknown as PostgresPoolClient;
      } catch (error) {
        client.release(true);
        throw error;
      }
      return namingClient(client, names);
    },
  };
}

function namingClient(client: PoolClient, names: StatementNames): PostgresPoolClient {
  let inTransaction = false;
  const run = async (text: string, values: unknown[]): Promise<PostgresQueryResult<unknown>> => {
    const name = names.nameOf(text);
    if (name === undefined) return client.query(text, values) as never;
    try {
      return (await client.query({ name, text, values })) as never;
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      names.rename(text);
      if (inTransaction) throw error;
      return client.query(text, values) as never;
    }
  };
  return {
    // kysely reads it to cancel a query (an undocumented member of pg's Client).
    get processID() {
      return (client as unknown as { processID?: number }).processID;
    },
    release: (destroy?: boolean) => client.release(destroy),
    query: ((textOrCursor: unknown, values?: unknown[]) => {
      if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never);
      if (OPENS_TRANSACTION.test(textOrCursor)) inTransaction = true;
      else if (CLOSES_TRANSACTION.test(textOrCursor)) inTransaction = false;
      if (!values || values.length === 0) return client.query(textOrCursor, values);
      return run(textOrCursor, values);
    }) as PostgresPoolClient['query'],
  } as PostgresPoolClient;
}
