/**
 * A customer's allowance as the chain has it (DESIGN §4): the SPL Token delegate the customer approved on its own
 * token account for the escrow program's per-customer PDA. Read over JSON-RPC only; the engine never holds a
 * customer key, so this read and the program's own delegated transfers are all it can do with a customer's tokens.
 */
import { AccountLayout } from '@solana/spl-token';
import type { AccountInfo, Connection, PublicKey } from '@solana/web3.js';
import { allowanceAddress, EscrowClient } from './escrow-client';
import { associatedTokenAddress } from './program-address';

export interface Allowance {
  wallet: PublicKey;
  /** The wallet's associated token account of the payment mint: deposits are drawn from it, refunds go to it. */
  tokenAccount: PublicKey;
  /** The PDA the customer must approve as delegate. */
  delegate: PublicKey;
  /** Whether the token account's delegate is that PDA (a revoke or another approval clears it). */
  approved: boolean;
  /** Base units the delegate may still move (0 unless approved). */
  allowance: bigint;
  /** Base units in the token account. */
  balance: bigint;
  /** What the engine can actually draw: the smaller of the two. */
  spendable: bigint;
}

export interface AllowanceOwner {
  wallet: PublicKey;
  mint: PublicKey;
  programId?: PublicKey;
}

/** The wallet's token account of the mint, where its allowance is read. */
export function allowanceAccount(p: AllowanceOwner): PublicKey {
  return associatedTokenAddress(p.mint, p.wallet, true);
}

export async function readAllowance(connection: Connection, p: AllowanceOwner): Promise<Allowance> {
  return allowanceOf(p, await connection.getAccountInfo(allowanceAccount(p)));
}

/** The allowance that token account's data says (`info` null: it does not exist, so nothing is approved). */
export function allowanceOf(p: AllowanceOwner, info: Pick<AccountInfo<Buffer>, 'data'> | null): Allowance {
  const tokenAccount = allowanceAccount(p);
  const delegate = allowanceAddress(p.wallet, p.programId);
  if (info === null || info.data.length < AccountLayout.span) {
    return { wallet: p.wallet, tokenAccount, delegate, approved: false, allowance: 0n, balance: 0n, spendable: 0n };
  }
  const account = AccountLayout.decode(info.data);
  const approved = account.delegateOption === 1 && account.delegate.equals(delegate);
  const allowance = approved ? account.delegatedAmount : 0n;
  const balance = account.amount;
  return { wallet: p.wallet, tokenAccount, delegate, approved, allowance, balance, spendable: allowance < balance ? allowance : balance };
}

/** The escrow program's payment mint, from its Config account. */
export async function paymentMint(connection: Connection, programId?: PublicKey): Promise<PublicKey> {
  const config = await new EscrowClient(connection, programId).fetchConfig();
  if (config === null) throw new Error('the lease_escrow program has no config on this chain: run the bootstrap');
  return config.mint;
}
