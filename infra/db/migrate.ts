import type { Kysely } from 'kysely';
import type { MigrationProvider } from 'kysely/migration';
import { Migrator } from 'kysely/migration';
import { migrations } from './migrations';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date; run at start-up by every process that uses the database. kysely
 * takes a lock first, so processes starting together migrate once. Throws naming the migration that
 * failed, so a start-up log says which one to look at.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run below the typed schema
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName;
  const detail = error instanceof Error ? error.message : String(error);
  throw new MigrationError(
    failed === undefined ? `database migration failed: ${detail}` : `database migration ${failed} failed: ${detail}`,
    { cause: error },
  );
}
