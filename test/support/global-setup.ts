/**
 * Starts one PostgreSQL cluster for the whole integration run, unless TEST_POSTGRES_URL points at a
 * server to use instead. Test files reach it through TEST_POSTGRES_ADMIN_URL (workers inherit the
 * environment) and make their own databases with freshDatabase().
 */
import type { PostgresCluster } from './postgres';
import { startPostgresCluster } from './postgres';

declare global {
  var __leaseEnginePostgres: PostgresCluster | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_POSTGRES_URL) {
    process.env.TEST_POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL;
    return;
  }
  const cluster = await startPostgresCluster();
  globalThis.__leaseEnginePostgres = cluster;
  process.env.TEST_POSTGRES_ADMIN_URL = cluster.adminUrl;
}
