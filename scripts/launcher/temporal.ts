import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../infra/config';
import { connectWithRetry } from '../../infra/temporal/connection';
import { defaultTemporalCliPath, temporalDevServerArgs, waitForTemporal } from '../../infra/temporal/dev-server';
import { ensureSearchAttributes } from '../../infra/temporal/search-attributes';
import type { Supervisor } from './supervisor';

export interface LauncherTemporal {
  address: string;
  /** The dev server's Web UI; null for an external cluster. */
  uiUrl: string | null;
}

const DEV_SERVER_IP = '127.0.0.1';

/**
 * TEMPORAL_ADDRESS unset: a dev server (with its UI and a SQLite file under DATA_DIR, so workflows
 * survive restarts) supervised like the engine processes. Set: that cluster, given our search attributes.
 */
export async function startTemporal(config: Config, supervisor: Supervisor): Promise<LauncherTemporal> {
  if (config.TEMPORAL_ADDRESS !== undefined) {
    const connection = await connectWithRetry(config.TEMPORAL_ADDRESS);
    try {
      await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    } finally {
      await connection.close();
    }
    return { address: config.TEMPORAL_ADDRESS, uiUrl: null };
  }

  const cliPath = config.TEMPORAL_CLI ?? defaultTemporalCliPath();
  if (!existsSync(cliPath)) {
    throw new Error(`no Temporal CLI at ${cliPath}: run \`bash scripts/setup.sh runtime\` (npm start does), or set TEMPORAL_CLI`);
  }
  const args = temporalDevServerArgs({
    ip: DEV_SERVER_IP,
    port: config.TEMPORAL_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    namespace: config.TEMPORAL_NAMESPACE,
  });
  supervisor.start({ name: 'temporal', command: cliPath, args, restart: true });
  const address = `${DEV_SERVER_IP}:${config.TEMPORAL_PORT}`;
  await waitForTemporal(address, { timeoutMs: 120_000 });
  return { address, uiUrl: `http://${DEV_SERVER_IP}:${config.TEMPORAL_UI_PORT}` };
}
