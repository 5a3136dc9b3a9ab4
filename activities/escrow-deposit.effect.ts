/**
 * The customer-signed effects, as write-ahead effects: opening a lease's escrow with its deposit, and
 * topping it up (with an extension of its end). The settlement authority co-signs both (the program refuses
 * them without it, so a customer cannot open its lease's escrow on terms of its own) and pays the
 * transaction fees; the customer signs for its tokens and pays the rent of the Lease and vault accounts.
 * Before an open is reported, the Lease account's terms are checked against what the engine asked for.
 */
import { PublicKey } from '@solana/web3.js';
import type { Escrow, EscrowTopUp } from '../infra/db/schema';
import {
  confirmEscrowOpen,
  confirmTopUp,
  findEscrow,
  findTopUp,
  insertOpeningEscrow,
  insertPendingTopUp,
  pendingTransactionOf,
  replaceOpeningTransaction,
  replacePendingTopUp,
} from '../infra/db/repositories/escrow-ledger.repo';
import { leaseIdBytes, type EscrowLease } from '../infra/solana/escrow-client';
import { signTransaction } from '../infra/solana/transaction-delivery';
import type { WriteAheadEffect } from '../infra/solana/write-ahead';
import type { OpenEscrowInput, TopUpEscrowInput } from './contracts';
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
}

/** The first of the Lease account's terms that is not what the engine asked for, or null when all are. */
export function termsMismatch(lease: EscrowLease, asked: OpenTerms): { field: keyof OpenTerms; onChain: string; asked: string } | null {
  const onChain: OpenTerms = { customer: lease.customer.toBase58(), mint: lease.mint.toBase58(),
    max_rate_per_second: lease.maxRatePerSecond, duration_seconds: lease.durationSeconds, deposited: lease.deposited };
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
export async function checkOpenedTerms(ctx: EscrowContext, escrow: Escrow, input: OpenEscrowInput): Promise<void> {
  const lease = await ctx.client.fetchLease(new PublicKey(escrow.address));
  if (lease === null) throw new EscrowStateError(`the escrow of lease ${input.leaseId} is open but its Lease account is missing`);
  const mismatch = termsMismatch(lease, { customer: escrow.customer_wallet, mint: escrow.mint,
    max_rate_per_second: positive(input.maxRatePerSecond, 'maxRatePerSecond'),
    duration_seconds: positive(String(input.durationSeconds), 'durationSeconds'), deposited: positive(input.deposit, 'deposit') });
  if (mismatch !== null) {
    throw new EscrowTermsMismatchError(mismatch.field, `the Lease account of lease ${input.leaseId} has ${mismatch.field} ${mismatch.onChain}, `
      + `not the ${mismatch.asked} the engine asked for`);
  }
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

  /** The wallet the customer pays from, recorded on the customer the first time. */
  async function customerSigner() {
    const signer = await ctx.customerWallets.signer(input.customerId);
    const wallet = signer.publicKey.toBase58();
    const customer = await db.selectFrom('customers').select('wallet_address').where('id', '=', input.customerId).executeTakeFirst();
    if (customer === undefined) throw new EscrowStateError(`customer ${input.customerId} does not exist`);
    if (customer.wallet_address === null) {
      await db.updateTable('customers').set({ wallet_address: wallet }).where('id', '=', input.customerId).where('wallet_address', 'is', null).execute();
    } else if (customer.wallet_address !== wallet) {
      throw new EscrowStateError(`customer ${input.customerId} has wallet ${customer.wallet_address}, but its signing key is ${wallet}`);
    }
    return signer;
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
      const customer = await customerSigner();
      const config = await ctx.config();
      const planned = replacing === undefined ? undefined : await findEscrow(db, leaseId);
      const deposit = planned ? BigInt(planned.deposited) : positive(input.deposit, 'deposit');
      const maxRatePerSecond = planned ? BigInt(planned.max_rate_per_second) : positive(input.maxRatePerSecond, 'maxRatePerSecond');
      const durationSeconds = planned ? BigInt(planned.duration_seconds) : positive(String(input.durationSeconds), 'durationSeconds');
      const customerToken = await ctx.customerTokenAccount(customer.publicKey);
      const ix = await client.openLease({ customer: customer.publicKey, settlementAuthority: ctx.settlementAuthority.publicKey, leaseId,
        mint: config.mint, customerToken, maxRatePerSecond, durationSeconds, deposit });
      const tx = await signTransaction(ctx.connection, ctx.settlementAuthority, [ix], [customer]);
      if (replacing !== undefined) return (await replaceOpeningTransaction(db, leaseId, replacing, tx)) ? tx : null;
      const row = { lease_id: leaseId, address: address.toBase58(), vault: client.vaultAddress(address).toBase58(),
        customer_wallet: customer.publicKey.toBase58(), mint: config.mint.toBase58(), deposited: deposit,
        max_rate_per_second: maxRatePerSecond, duration_seconds: durationSeconds };
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

export function topUpEffect(ctx: EscrowContext, input: TopUpEscrowInput): WriteAheadEffect<EscrowTopUp> {
  const { db, client, leaseId, topUpId } = { ...ctx, ...input };
  const key = { leaseId, topUpId };
  const leaseOf = async (escrow: Escrow) => {
    const lease = await client.fetchLease(new PublicKey(escrow.address));
    if (lease === null) throw new EscrowStateError(`lease ${leaseId} has no Lease account on-chain`);
    return lease;
  };

  return {
    describe: `top-up ${topUpId} of lease ${leaseId}`,

    async load() {
      const topUp = await findTopUp(db, leaseId, topUpId);
      if (topUp === undefined) return { state: 'none' };
      return topUp.status === 'confirmed' ? { state: 'confirmed', result: topUp } : { state: 'pending', tx: pendingTransactionOf(topUp) };
    },

    async signAndRecord(replacing) {
      const escrow = await requireEscrow(ctx, leaseId, 'open');
      const lease = new PublicKey(escrow.address);
      const planned = replacing === undefined ? undefined : await findTopUp(db, leaseId, topUpId);
      const amount = planned ? BigInt(planned.amount) : positive(input.amount, 'amount');
      const extendSeconds = BigInt(planned ? planned.extend_seconds : input.extendSeconds);
      if (extendSeconds < 0n) throw new EscrowStateError(`extendSeconds ${extendSeconds} is negative`);
      const customerId = (await db.selectFrom('leases').select('customer_id').where('id', '=', leaseId).executeTakeFirstOrThrow()).customer_id;
      const customer = await ctx.customerWallets.signer(customerId);
      if (customer.publicKey.toBase58() !== escrow.customer_wallet) {
        throw new EscrowStateError(`the escrow of lease ${leaseId} was opened by ${escrow.customer_wallet}, not ${customer.publicKey.toBase58()}`);
      }
      const ix = await client.topUp({ payer: customer.publicKey, settlementAuthority: ctx.settlementAuthority.publicKey, lease,
        payerToken: await ctx.customerTokenAccount(customer.publicKey), amount, extendSeconds });
      const tx = await signTransaction(ctx.connection, ctx.settlementAuthority, [ix], [customer]);
      if (replacing !== undefined) return (await replacePendingTopUp(db, { ...key, dead: replacing }, tx)) ? tx : null;
      const onChain = await leaseOf(escrow);
      const row = { lease_id: leaseId, top_up_id: topUpId, amount, extend_seconds: extendSeconds,
        deposited_after: onChain.deposited + amount, duration_after: onChain.durationSeconds + extendSeconds };
      return (await insertPendingTopUp(db, row, tx)) ? tx : null;
    },

    async landed() {
      const topUp = (await findTopUp(db, leaseId, topUpId))!;
      const lease = await leaseOf(await requireEscrow(ctx, leaseId, 'open', 'closed', 'reclaimed'));
      // Only the customer (whose key is here alone) can extend, so a longer duration is ours; a money-only
      // top-up is recognised by the deposit, which a stranger's top-up could also have raised.
      return BigInt(topUp.extend_seconds) > 0n
        ? lease.durationSeconds >= BigInt(topUp.duration_after)
        : lease.deposited >= BigInt(topUp.deposited_after);
    },

    async confirm(tx) {
      const lease = await leaseOf(await requireEscrow(ctx, leaseId, 'open', 'closed', 'reclaimed'));
      await confirmTopUp(db, { ...key, signature: tx.signature }, lease);
      ctx.log?.info({ leaseId, topUpId, deposited: lease.deposited.toString(), signature: tx.signature }, 'escrow topped up');
      return (await findTopUp(db, leaseId, topUpId))!;
    },
  };
}
