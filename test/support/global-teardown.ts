/** Stops the cluster global-setup.ts started (nothing to do when TEST_POSTGRES_URL was used). */
import './global-setup';

export default async function globalTeardown(): Promise<void> {
  const cluster = globalThis.__leaseEnginePostgres;
  globalThis.__leaseEnginePostgres = undefined;
  await cluster?.stop();
}
