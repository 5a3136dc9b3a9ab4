/**
 * Where each provider's payouts go: a token account of the payment mint, kept in
 * `providers.payout_token_account`. Real providers register their own account (any token account of the
 * mint they control); the engine never holds their keys. `demoPayoutAccounts` is for the embedded demo and
 * tests only: a provider without an account gets a wallet kept under `<dataDir>/keys/providers/<id>.json`
 * and that wallet's associated token account, created (idempotently) on first payout.
 */
import path from 'node:path';
import { createAssociatedTokenAccountIdempotentInstruction } from '@solana/spl-token';
import { PublicKey, type Connection, type Keypair, type TransactionInstruction } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { loadOrCreateKeypair } from './chain-node/keypair-file';
import { deliver, signTransaction } from './transaction-delivery';
import { associatedTokenAddress } from './program-address';

export interface PayoutAccounts {
  /** Each provider's payout token account for `mint`; throws PayoutAccountMissingError for one it cannot find. */
  resolve(providerIds: readonly string[], mint: PublicKey): Promise<Map<string, PublicKey>>;
}

export class PayoutAccountMissingError extends Error {
  override name = 'PayoutAccountMissingError';
}

async function registered(db: Kysely<Database>, providerIds: readonly string[]): Promise<Map<string, PublicKey>> {
  if (providerIds.length === 0) return new Map();
  const rows = await db.selectFrom('providers').select(['id', 'payout_token_account'])
    .where('id', 'in', [...providerIds]).execute();
  const found = new Map<string, PublicKey>();
  for (const row of rows) if (row.payout_token_account !== null) found.set(row.id, new PublicKey(row.payout_token_account));
  return found;
}

/** Only accounts providers registered: the production behaviour. */
export function registeredPayoutAccounts(db: Kysely<Database>): PayoutAccounts {
  return {
    async resolve(providerIds) {
      const found = await registered(db, providerIds);
      const missing = providerIds.filter((id) => !found.has(id));
      if (missing.length > 0) throw new PayoutAccountMissingError(`providers without a payout token account: ${missing.join(', ')}`);
      return found;
    },
  };
}

/** The demo's: registered accounts first, else a kept demo wallet's associated token account. */
export function demoPayoutAccounts(deps: { db: Kysely<Database>; connection: Connection; payer: Keypair; dataDir: string }): PayoutAccounts {
  const { db, connection, payer } = deps;
  return {
    async resolve(providerIds, mint) {
      const found = await registered(db, providerIds);
      for (const providerId of providerIds.filter((id) => !found.has(id))) {
        const owner = demoProviderWallet(deps.dataDir, providerId).publicKey;
        const account = associatedTokenAddress(mint, owner);
        if ((await connection.getAccountInfo(account)) === null) {
          await createTokenAccount(connection, payer, createAssociatedTokenAccountIdempotentInstruction(payer.publicKey, account, owner, mint));
        }
        // A provider that registered its own account meanwhile keeps it.
        await db.updateTable('providers').set({ payout_token_account: account.toBase58() })
          .where('id', '=', providerId).where('payout_token_account', 'is', null).execute();
        found.set(providerId, account);
      }
      return found;
    },
  };
}

/** A demo provider's wallet: created on first use, the same one ever after. */
export function demoProviderWallet(dataDir: string, providerId: string): Keypair {
  if (!/^[A-Za-z0-9_-]+$/.test(providerId)) throw new Error(`provider id "${providerId}" cannot name a key file`);
  return loadOrCreateKeypair(path.join(dataDir, 'keys', 'providers', `${providerId}.json`));
}

/** Creating an associated token account idempotently may simply be repeated until it lands. */
async function createTokenAccount(connection: Connection, payer: Keypair, instruction: TransactionInstruction): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const delivery = await deliver(connection, await signTransaction(connection, payer, [instruction]));
    if (delivery.outcome === 'confirmed') return;
    if (delivery.outcome !== 'expired') throw delivery.failure;
  }
  throw new Error('the payout token account could not be created: its transactions kept expiring');
}
