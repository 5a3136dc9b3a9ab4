import path from 'node:path';
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import { PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema';
import type { SolanaBootstrap } from '../../infra/solana/bootstrap';
import { readKeypair } from '../../infra/solana/chain-node/keypair-file';
import { FileCustomerWallets } from '../../infra/solana/customer-wallets';

/** A demo customer's wallet as data/demo.json shows it: enough to call `reclaim` with any Solana client. */
export interface DemoWallet {
  customerId: string;
  wallet: string;
  /** The wallet's associated token account of the payment mint: deposits come from it, refunds go to it. */
  tokenAccount: string;
  /** Solana CLI keypair file: the custodial keystore's copy, which the engine signs open_lease with. */
  keypairPath: string;
}

/**
 * The demo customers pay from the wallets the chain bootstrap funded: `customer-1` becomes the first demo
 * customer's custodial wallet, `customer-2` the second's, and `customers.wallet_address` says so. Idempotent:
 * a wallet already in the keystore is kept (FileCustomerWallets.adopt), and the row is set to the key the
 * engine will actually sign with, which is what the escrow deposit checks it against.
 */
export async function ensureDemoWallets(
  db: Kysely<Database>,
  dataDir: string,
  customerIds: string[],
  solana: SolanaBootstrap,
): Promise<DemoWallet[]> {
  const wallets = FileCustomerWallets.inDataDir(dataDir);
  const mint = new PublicKey(solana.mint);
  const result: DemoWallet[] = [];
  for (const [index, customerId] of customerIds.entries()) {
    const funded = solana.customers[index];
    if (funded === undefined) throw new Error(`the chain bootstrap funded ${solana.customers.length} customers, not ${customerIds.length}`);
    const keypair = await wallets.adopt(customerId, readKeypair(funded.keypairPath));
    const wallet = keypair.publicKey.toBase58();
    await db
      .updateTable('customers')
      .set({ wallet_address: wallet })
      .where('id', '=', customerId)
      .where((eb) => eb.or([eb('wallet_address', 'is', null), eb('wallet_address', '!=', wallet)]))
      .execute();
    result.push({
      customerId,
      wallet,
      tokenAccount: getAssociatedTokenAddressSync(mint, keypair.publicKey).toBase58(),
      keypairPath: path.join(wallets.dir, `${customerId}.json`),
    });
  }
  return result;
}
