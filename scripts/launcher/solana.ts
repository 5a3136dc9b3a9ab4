import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../infra/config';
import type { SolanaBootstrap } from '../../infra/solana/bootstrap';
import { bootstrapSolana, defaultWsUrl } from '../../infra/solana/bootstrap';
import { ROOT, chainNodeProcess } from './engine-processes';
import { waitForChain } from './readiness';
import type { Supervisor } from './supervisor';

export interface LauncherSolana {
  rpcUrl: string;
  wsUrl: string;
  /** The embedded chain's market (program, mint, treasury, funded customers); null for an external cluster. */
  bootstrap: SolanaBootstrap | null;
}

/** What the chain node deploys; checked here so that a missing build is one clear line, not a crash loop. */
const PROGRAM_PATH = path.join(ROOT, 'programs', 'lease_escrow', 'target', 'deploy', 'lease_escrow.so');

/**
 * SOLANA_RPC_URL unset: the local chain node (LiteSVM behind JSON-RPC, state under DATA_DIR), supervised like
 * the engine processes, and the demo market set up on it (idempotent: a restart finds it and changes nothing).
 * Set: a real cluster where the operator deployed lease_escrow and its Config; nothing runs here.
 */
export async function startSolana(
  config: Config,
  supervisor: Supervisor,
  opts: { customerCount: number; say: (text: string) => void },
): Promise<LauncherSolana> {
  const rpcUrl = config.solanaRpcUrl;
  const wsUrl = defaultWsUrl(rpcUrl);
  if (config.SOLANA_RPC_URL !== undefined) {
    opts.say(`Solana cluster at ${rpcUrl}: nothing started here (lease_escrow and its Config are the operator's)`);
    return { rpcUrl, wsUrl, bootstrap: null };
  }
  if (!existsSync(PROGRAM_PATH)) {
    throw new Error(`no lease_escrow program at ${PROGRAM_PATH}: run \`npm run build:program\` (npm start's setup does)`);
  }
  supervisor.start(chainNodeProcess({ port: config.SOLANA_RPC_PORT, dataDir: config.dataDir }, process.env));
  await waitForChain(rpcUrl, {
    timeoutMs: 60_000,
    deadProcess: () => (supervisor.restarts('chain') >= 3 ? 'chain' : undefined),
  });
  const bootstrap = await bootstrapSolana({ rpcUrl, wsUrl, dataDir: config.dataDir, customerCount: opts.customerCount });
  opts.say(`local chain node on ${rpcUrl} (PubSub ${wsUrl}), state in ${config.dataDir}/chain; mint ${bootstrap.mint}`);
  return { rpcUrl, wsUrl, bootstrap };
}

/**
 * What the API and control worker need to reach the chain. Embedded, the settlement authority is the key
 * bootstrap made (whatever SETTLEMENT_AUTHORITY_KEYPAIR says: no other key can settle on this chain), and
 * providers without a registered account are paid into demo wallets.
 */
export function solanaEnv(solana: LauncherSolana): NodeJS.ProcessEnv {
  if (solana.bootstrap === null) return { SOLANA_RPC_URL: solana.rpcUrl };
  return {
    SOLANA_RPC_URL: solana.rpcUrl,
    SETTLEMENT_AUTHORITY_KEYPAIR: path.join(solana.bootstrap.keysDir, 'settlement-authority.json'),
    DEMO_PAYOUT_ACCOUNTS: 'true',
  };
}
