/**
 * Opening a lease's escrow as a write-ahead effect. The engine holds no customer key: the deposit is drawn from the
 * allowance the customer approved for the program's per-customer PDA, on the settlement authority's signature
 * alone (which also pays the rents and the fee). The program moves it only from the customer's own token account
 * into this lease's vault. Before an open is reported, the Lease account's terms are checked against what the
 * engine asked for.
 */
import { PublicKey } from '@solana/web3.js';
import type { Escrow } from '../infra/db/schema';
import { findCustomerWallet } from '../infra/db/repositories/customers.repo';
import {
  confirmEscrowOpen,
  findEscrow,
  insertOpeningEscrow,
  pendingTransactionOf,
  replaceOpeningTransaction,
} from '../infra/db/repositories/escrow-ledger.repo';
import { leaseIdBytes, type EscrowLease } from '../infra/solana/escrow-client';
import { signTransaction } from '../infra/solana/transaction-delivery';
import type { WriteAheadEffect } from '../infra/solana/write-ahead';
import type { OpenEscrowInput } from './contracts';
import { EscrowStateError, EscrowTermsMismatchError, requireEscrow, type EscrowContext } from './escrow-context';

const positive = (value: string, name: string): bigint => {
  if (!/^\d+$/.test(value) || BigInt(value) === 0n) throw new EscrowStateError(`${name} "${value}" is not a positive amount of base units`);
  return BigInt(value);
};

/** What the engine asked open_lease for, in the Lease account's terms. */
export interface OpenTerms {
  customer: string;
  mint: string;
  max_rate_per_second: bigint;
  duration_seconds: bigint;
  deposited: bigint;
  window_seconds: bigint;
}

/** The first of the Lease account's terms that is not what the engine asked for, or null when all are. */
export function termsMismatch(lease: EscrowLease, asked: OpenTerms): { field: keyof OpenTerms; onChain: string; asked: string } | null {
  const onChain: OpenTerms = { customer: lease.customer.toBase58(), mint: lease.mint.toBase58(),
    max_rate_per_second: lease.maxRatePerSecond, duration_seconds: lease.durationSeconds, deposited: lease.deposited,
    window_seconds: lease.windowSeconds };
  for (const field of Object.keys(asked) as (keyof OpenTerms)[]) {
    if (onChain[field] !== asked[field]) return { field, onChain: String(onChain[field]), asked: String(asked[field]) };
  }
  return null;
}

/**
 * Reads the opened Lease account and throws EscrowTermsMismatchError (final) unless its terms are the ones asked
 * for: a lease runs only on an escrow that can pay it. The escrow stays recorded as open, as the chain has it,
 * so the refund of a failed start gives its deposit back.
 */
export async function checkOpenedTerms(ctx: EscrowContext, escrow: Escrow, input: OpenEscrowInput): Promise<EscrowLease> {
  const lease = await ctx.client.fetchLease(new PublicKey(escrow.address));
  if (lease === null) throw new EscrowStateError(`the escrow of lease ${input.leaseId} is open but its Lease account is missing`);
  const mismatch = termsMismatch(lease, { customer: escrow.customer_wallet, mint: escrow.mint,
    max_rate_per_second: positive(input.maxRatePerSecond, 'maxRatePerSecond'),
    duration_seconds: positive(String(input.durationSeconds), 'durationSeconds'), deposited: positive(input.deposit, 'deposit'),
    window_seconds: positive(String(input.windowSeconds), 'windowSeconds') });
  if (mismatch !== null) {
    throw new EscrowTermsMismatchError(mismatch.field, `the Lease account of lease ${input.leaseId} has ${mismatch.field} ${mismatch.onChain}, `
      + `not the ${mismatch.asked} the engine asked for`);
  }
  return lease;
}

export function openEffect(ctx: EscrowContext, input: OpenEscrowInput): WriteAheadEffect<Escrow> {
  const { db, client, leaseId } = { ...ctx, leaseId: input.leaseId };
  let address: PublicKey;
  try {
    leaseIdBytes(leaseId);
    address = client.leaseAddress(leaseId);
  } catch (error) {
    throw new EscrowStateError((error as Error).message);
  }

  /** The wallet the customer registered (POST /v1/wallet): its allowance funds the lease. */
  async function customerWallet(): Promise<PublicKey> {
    const wallet = await findCustomerWallet(db, input.customerId);
    if (wallet === null) throw new EscrowStateError(`customer ${input.customerId} has no registered wallet to fund the deposit from`);
    return new PublicKey(wallet);
  }

  return {
    describe: `open of the escrow of lease ${leaseId}`,

    async load() {
      const escrow = await findEscrow(db, leaseId);
      if (escrow === undefined) return { state: 'none' };
      if (escrow.status !== 'opening') return { state: 'confirmed', result: escrow };
      return { state: 'pending', tx: pendingTransactionOf({ signature: escrow.open_signature, transaction: escrow.open_transaction!,
        last_valid_block_height: escrow.open_last_valid_block_height! }) };
    },

    async signAndRecord(replacing) {
      const config = await ctx.config();
      const planned = replacing === undefined ? undefined : await findEscrow(db, leaseId);
      // A replacement keeps the wallet it was planned with, even if the customer registered another since.
      const customer = planned ? new PublicKey(planned.customer_wallet) : await customerWallet();
      const deposit = planned ? BigInt(planned.deposited) : positive(input.deposit, 'deposit');
      const maxRatePerSecond = planned ? BigInt(planned.max_rate_per_second) : positive(input.maxRatePerSecond, 'maxRatePerSecond');
      const durationSeconds = planned ? BigInt(planned.duration_seconds) : positive(String(input.durationSeconds), 'durationSeconds');
      const windowSeconds = planned ? BigInt(planned.window_seconds) : positive(String(input.windowSeconds), 'windowSeconds');
      const customerToken = await ctx.customerTokenAccount(customer);
      const ix = await client.openLease({ settlementAuthority: ctx.settlementAuthority.publicKey, customer, leaseId,
        mint: config.mint, customerToken, maxRatePerSecond, durationSeconds, deposit, windowSeconds });
      const tx = await signTransaction(ctx.connection, ctx.settlementAuthority, [ix]);
      if (replacing !== undefined) return (await replaceOpeningTransaction(db, leaseId, replacing, tx)) ? tx : null;
      const row = { lease_id: leaseId, address: address.toBase58(), vault: client.vaultAddress(address).toBase58(),
        customer_wallet: customer.toBase58(), mint: config.mint.toBase58(), deposited: deposit,
        max_rate_per_second: maxRatePerSecond, duration_seconds: durationSeconds, window_seconds: windowSeconds };
      return (await insertOpeningEscrow(db, row, tx)) ? tx : null;
    },

    async landed() {
      const lease = await client.fetchLease(address);
      if (lease === null) return false;
      const escrow = await requireEscrow(ctx, leaseId, 'opening', 'open');
      if (lease.customer.toBase58() !== escrow.customer_wallet) {
        throw new EscrowStateError(`the Lease account of lease ${leaseId} belongs to ${lease.customer.toBase58()}, not ${escrow.customer_wallet}`);
      }
      return true;
    },

    async confirm(tx) {
      const lease = await client.fetchLease(address);
      if (lease === null) throw new EscrowStateError(`open_lease of lease ${leaseId} confirmed but its Lease account is missing`);
      await confirmEscrowOpen(db, leaseId, tx.signature, lease.deposited);
      ctx.log?.info({ leaseId, address: address.toBase58(), deposited: lease.deposited.toString(), signature: tx.signature }, 'escrow opened');
      return (await findEscrow(db, leaseId))!;
    },
  };
}
