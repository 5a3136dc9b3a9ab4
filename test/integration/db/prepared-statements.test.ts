/**
 * Statements prepared once per connection (infra/db/prepared-statements.ts), on a real PostgreSQL and on
 * the embedded PGlite server: prepared on PostgreSQL, never on PGlite (its one session is every
 * connection's), and a schema change that changes a prepared statement's result columns costs at most
 * the transaction it happened in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { createDb } from '../../../infra/db/connection';
import type { Database } from '../../../infra/db/schema';
import type { FreshDatabase } from '../../support/postgres';
import { freePort, freshDatabase } from '../../support/postgres';
import type { EmbeddedPostgresProcess } from './pglite-process';
import { startEmbeddedPostgresProcess } from './pglite-process';

/** A table kysely does not know: read through `Kysely<any>`-free raw SQL with a parameter, as kysely sends it. */
const readRow = (db: Kysely<Database>, id: number) => sql<Record<string, unknown>>`select * from prepared_probe where id = ${id}`.execute(db);
const preparedTexts = async (db: Kysely<Database>) =>
  (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(db)).rows;

describe('on PostgreSQL', () => {
  let fresh: FreshDatabase;
  let db: Kysely<Database>;

  beforeAll(async () => {
    fresh = await freshDatabase({ migrate: false });
    // One connection: what it prepared is what pg_prepared_statements shows.
    db = createDb(new URL(fresh.url).toString(), { max: 1 });
    await sql`create table prepared_probe (id int primary key, a text)`.execute(db);
    await sql`insert into prepared_probe values (1, 'one'), (2, 'two')`.execute(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await fresh?.drop();
  });

  test('a parameterised statement is prepared once under a name and answers every call', async () => {
    expect((await readRow(db, 1)).rows).toEqual([{ id: 1, a: 'one' }]);
    expect((await readRow(db, 2)).rows).toEqual([{ id: 2, a: 'two' }]);
    const prepared = (await preparedTexts(db)).filter((p) => p.statement.includes('prepared_probe'));
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.name).toMatch(/^lease_engine_\d+$/);
  });

  test('a column added under a prepared statement: run again at once outside a transaction', async () => {
    await readRow(db, 1);
    await sql`alter table prepared_probe add column b text default 'b'`.execute(db);
    expect((await readRow(db, 1)).rows).toEqual([{ id: 1, a: 'one', b: 'b' }]);
  });

  test('inside a transaction the refusal fails that transaction only; the next one runs', async () => {
    await readRow(db, 2);
    await sql`alter table prepared_probe add column c text default 'c'`.execute(db);
    await expect(db.transaction().execute((trx) => readRow(trx, 2))).rejects.toThrow(/cached plan must not change result type/);
    expect((await db.transaction().execute((trx) => readRow(trx, 2))).rows).toEqual([{ id: 2, a: 'two', b: 'b', c: 'c' }]);
  });

  test('preparedStatements: false sends every statement unnamed', async () => {
    const unnamed = createDb(fresh.url, { max: 1, preparedStatements: false });
    try {
      await readRow(unnamed, 1);
      expect(await preparedTexts(unnamed)).toEqual([]);
    } finally {
      await unnamed.destroy();
    }
  });
});

describe('on the embedded PGlite server', () => {
  let dataDir: string;
  let server: EmbeddedPostgresProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lease-engine-prepared-'));
    server = await startEmbeddedPostgresProcess(dataDir, await freePort());
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('two pools running the same statements on their own connections never collide: nothing is named', async () => {
    const pools = [createDb(server.url, { max: 3 }), createDb(server.url, { max: 3 })];
    try {
      await sql`create table if not exists prepared_probe (id int primary key, a text)`.execute(pools[0]!);
      await sql`insert into prepared_probe values (1, 'one') on conflict do nothing`.execute(pools[0]!);
      const answers = await Promise.all(pools.flatMap((db) => [1, 2, 3, 4, 5, 6].map(() => readRow(db, 1))));
      expect(answers.map((a) => a.rows)).toEqual(answers.map(() => [{ id: 1, a: 'one' }]));
      expect(await preparedTexts(pools[1]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((db) => db.destroy()));
    }
  });
});
