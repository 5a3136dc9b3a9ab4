/**
 * One-shot for a production deployment (docker-compose service `engine-setup`): migrates PostgreSQL,
 * registers the namespace and the lease workflow's search attributes on the Temporal cluster, then exits.
 * API and control workers start after it, so no two of them race to do it.
 */
import { loadConfig } from '../../infra/config';
import { createDb } from '../../infra/db/connection';
import { migrateToLatest } from '../../infra/db/migrate';
import { connectWithRetry } from '../../infra/temporal/connection';
import { prepareNamespace } from '../../infra/temporal/cluster-server';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.DATABASE_URL === undefined || config.TEMPORAL_ADDRESS === undefined) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must both be set (this prepares external servers)');
  }
  const db = createDb(config.DATABASE_URL, { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  // A fresh cluster creates its schema first (auto-setup takes a minute or two): wait for it.
  const connection = await connectWithRetry(config.TEMPORAL_ADDRESS, { timeoutMs: 300_000 });
  try {
    // Temporal's real server starts with no namespace (the dev server has `default` built in).
    const { registered, searchAttributesAdded: added } = await prepareNamespace(connection, config.TEMPORAL_NAMESPACE);
    console.log(
      `database migrated; namespace ${config.TEMPORAL_NAMESPACE} ${registered ? 'registered' : 'present'}; ` +
        `search attributes ${added.length > 0 ? `added: ${added.join(', ')}` : 'already present'}`,
    );
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
