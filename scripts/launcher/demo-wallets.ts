import path from 'node:path';
import { Connection, PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import { checkWalletProof } from '../../domain/wallet-registration';
import { registerCustomerWallet } from '../../infra/db/repositories/customers.repo';
import type { Database } from '../../infra/db/schema';
import { readAllowance } from '../../infra/solana/allowance';
import type { SolanaBootstrap } from '../../infra/solana/bootstrap';
import { readKeypair } from '../../infra/solana/chain-node/keypair-file';
import { approveAllowance, signWalletRegistration } from '../../infra/solana/customer-allowance';

/** A demo customer's wallet as data/demo.json shows it: enough to approve, revoke or `reclaim` with any Solana client. */
export interface DemoWallet {
  customerId: string;
  wallet: string;
  /** The wallet's associated token account of the payment mint: deposits come from it, refunds go to it. */
  tokenAccount: string;
  /** The delegate the customer approved: the escrow program's PDA ["allowance", wallet]. */
  allowanceDelegate: string;
  /** The customer's own Solana CLI keypair file. No engine process reads it: the demo's customers act with it here. */
  keypairPath: string;
}

/** What each demo customer approves at first start (whole tokens): plenty for the demo, far less than its balance. */
const DEMO_ALLOWANCE_TOKENS = 1_000n;

/**
 * The demo customers act as real ones would, with their own keypairs (funded by the chain bootstrap): each approves an
 * allowance for the escrow program on its token account and registers its wallet by signing the registration line,
 * exactly as POST /v1/wallet checks it. Idempotent: an approval already there (or revoked by the person trying the
 * demo) is left as it is; only a wallet with no approval at all gets one.
 */
export async function ensureDemoWallets(
  db: Kysely<Database>,
  customerIds: string[],
  solana: SolanaBootstrap,
): Promise<DemoWallet[]> {
  const connection = new Connection(solana.rpcUrl, 'confirmed');
  const mint = new PublicKey(solana.mint);
  const programId = new PublicKey(solana.programId);
  const result: DemoWallet[] = [];
  for (const [index, customerId] of customerIds.entries()) {
    const funded = solana.customers[index];
    if (funded === undefined) throw new Error(`the chain bootstrap funded ${solana.customers.length} customers, not ${customerIds.length}`);
    const owner = readKeypair(funded.keypairPath);
    const allowance = await readAllowance(connection, { wallet: owner.publicKey, mint, programId });
    if (!allowance.approved && allowance.allowance === 0n) {
      const units = DEMO_ALLOWANCE_TOKENS * 10n ** BigInt(solana.decimals);
      await approveAllowance(connection, owner, { mint, decimals: solana.decimals, amount: units, programId });
    }
    const proof = signWalletRegistration(owner, customerId);
    const problem = checkWalletProof(customerId, proof.address, proof.signature);
    if (problem !== null) throw new Error(`demo customer ${customerId}: ${problem.field} ${problem.message}`);
    await registerCustomerWallet(db, customerId, proof.address);
    result.push({
      customerId,
      wallet: proof.address,
      tokenAccount: allowance.tokenAccount.toBase58(),
      allowanceDelegate: allowance.delegate.toBase58(),
      keypairPath: path.resolve(funded.keypairPath),
    });
  }
  return result;
}
