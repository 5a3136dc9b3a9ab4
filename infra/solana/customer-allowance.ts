/**
 * What a customer does with its own wallet, on its own machine (issue 8): approve or revoke the escrow program's
 * allowance delegate on its token account, and sign the wallet registration line. Any Solana client can do the
 * same (`spl-token approve`, `solana sign-offchain-message`); this is the project's own, used by the CLI, the
 * demo's customers and the tests. It runs where the customer's key is: no engine process imports it.
 */
import {
  createApproveCheckedInstruction,
  createAssociatedTokenAccountIdempotentInstruction,
  createRevokeInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { ed25519 } from '@noble/curves/ed25519';
import bs58 from 'bs58';
import { Transaction, sendAndConfirmTransaction, type Connection, type Keypair, type PublicKey } from '@solana/web3.js';
import { walletRegistrationMessage } from '../../domain/wallet-registration';
import { allowanceAddress } from './escrow-client';

/** Approves `amount` base units for the program's PDA of this wallet (replacing any earlier approval); returns the signature. */
export async function approveAllowance(connection: Connection, owner: Keypair, p: { mint: PublicKey; decimals: number; amount: bigint;
  programId?: PublicKey }): Promise<string> {
  const account = getAssociatedTokenAddressSync(p.mint, owner.publicKey, true);
  const tx = new Transaction().add(
    createAssociatedTokenAccountIdempotentInstruction(owner.publicKey, account, owner.publicKey, p.mint),
    createApproveCheckedInstruction(account, p.mint, allowanceAddress(owner.publicKey, p.programId), owner.publicKey, p.amount, p.decimals),
  );
  return sendAndConfirmTransaction(connection, tx, [owner], { commitment: 'confirmed' });
}

/** Revokes whatever delegate the wallet's token account has: the engine can draw nothing more from it, at once. */
export async function revokeAllowance(connection: Connection, owner: Keypair, mint: PublicKey): Promise<string> {
  const account = getAssociatedTokenAddressSync(mint, owner.publicKey, true);
  return sendAndConfirmTransaction(connection, new Transaction().add(createRevokeInstruction(account, owner.publicKey)), [owner],
    { commitment: 'confirmed' });
}

/** The body of POST /v1/wallet: the wallet and its signature of the registration line (raw bytes, base58). */
export function signWalletRegistration(owner: Keypair, customerId: string): { address: string; signature: string } {
  const address = owner.publicKey.toBase58();
  const message = new TextEncoder().encode(walletRegistrationMessage(customerId, address));
  return { address, signature: bs58.encode(ed25519.sign(message, owner.secretKey.slice(0, 32))) };
}
