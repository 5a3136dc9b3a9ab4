/**
 * Whether a customer's wallet holds enough of the payment token for a deposit, checked before anything is
 * reserved (POST /v1/leases answers 402 with the shortfall otherwise). The deposit leaves the customer's
 * associated token account of the payment mint, so that is the balance that counts.
 */
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import type { Connection, PublicKey } from '@solana/web3.js';
import type { CustomerWallets } from './customer-wallets';
import { EscrowClient } from './escrow-client';

export interface CoverCheck {
  ok: boolean;
  /** Base units in the customer's token account ("0" without a wallet or an account). */
  balance: string;
  /** Base units missing ("0" when ok). */
  shortfall: string;
  /** The wallet checked, null when the customer has none. */
  wallet: string | null;
}

export async function customerCanCover(
  connection: Connection,
  wallets: CustomerWallets,
  customerId: string,
  deposit: bigint,
  options: { mint?: PublicKey; programId?: PublicKey } = {},
): Promise<CoverCheck> {
  const wallet = await wallets.address(customerId);
  let balance = 0n;
  if (wallet !== null) {
    const mint = options.mint ?? (await paymentMint(connection, options.programId));
    const account = getAssociatedTokenAddressSync(mint, wallet, true);
    const info = await connection.getAccountInfo(account);
    if (info !== null) balance = BigInt((await connection.getTokenAccountBalance(account)).value.amount);
  }
  const shortfall = deposit > balance ? deposit - balance : 0n;
  return { ok: shortfall === 0n, balance: balance.toString(), shortfall: shortfall.toString(), wallet: wallet?.toBase58() ?? null };
}

/** The escrow program's payment mint, from its Config account. */
export async function paymentMint(connection: Connection, programId?: PublicKey): Promise<PublicKey> {
  const config = await new EscrowClient(connection, programId).fetchConfig();
  if (config === null) throw new Error('the lease_escrow program has no config on this chain: run the bootstrap');
  return config.mint;
}
