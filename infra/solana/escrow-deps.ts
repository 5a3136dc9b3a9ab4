/**
 * What the escrow activities need, built from configuration: JSON-RPC to the chain (the embedded node or a
 * real cluster — the code does not know which), the settlement authority's key, and where providers are paid.
 * No customer key: deposits are drawn from the allowances customers approved.
 */
import { Connection } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EscrowActivityDeps } from '../../activities/escrow-context';
import type { Config } from '../config';
import type { Database } from '../db/schema';
import { readKeypair } from './chain-node/keypair-file';
import { demoPayoutAccounts, registeredPayoutAccounts } from './payout-accounts';

export function escrowDepsFromConfig(config: Config, db: Kysely<Database>, log?: Logger): EscrowActivityDeps {
  const connection = new Connection(config.solanaRpcUrl, 'confirmed');
  const settlementAuthority = readKeypair(config.settlementAuthorityKeypair);
  return {
    db,
    connection,
    settlementAuthority,
    payoutAccounts: config.DEMO_PAYOUT_ACCOUNTS
      ? demoPayoutAccounts({ db, connection, payer: settlementAuthority, dataDir: config.dataDir })
      : registeredPayoutAccounts(db),
    log,
  };
}
