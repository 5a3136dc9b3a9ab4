/**
 * The settlement ledger: escrows, and settlements with their payouts and the rolling deposit's top-ups. Writes follow the
 * write-ahead pattern (infra/solana/write-ahead.ts): a row is inserted 'pending' with the signed
 * transaction before it is sent, its signature is replaced only by compare-and-set on the old one, and it
 * becomes 'confirmed' once the chain has it. Reads sum only confirmed rows, so the ledger's books are the
 * chain's: `paidToProviders + fees + burned + refunded = deposited` once a lease is closed.
 */
import type { Insertable, Kysely } from 'kysely';
import { sql } from 'kysely';
import type { SignedTransaction } from '../../solana/transaction-delivery';
import type { Database, Escrow, EscrowTable, Provider, Settlement, SettlementPayout, SettlementTable } from '../schema';

type Db = Kysely<Database>;
export type NewSettlement = Omit<Insertable<SettlementTable>, 'status' | 'signature' | 'transaction' | 'last_valid_block_height' |
  'created_at' | 'confirmed_at' | 'refunded'>;
export interface SettlementWithPayouts {
  settlement: Settlement;
  payouts: SettlementPayout[];
}

const UNIQUE_VIOLATION = '23505';
const signed = (tx: SignedTransaction) =>
  ({ signature: tx.signature, transaction: tx.wire, last_valid_block_height: tx.lastValidBlockHeight });
/** Inserts that lost a race (same key, or the lease's one close) are answered false, not thrown. */
async function insertedOrRaced(work: Promise<unknown>): Promise<boolean> {
  try {
    await work;
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
    throw error;
  }
}
const changed = (result: { numUpdatedRows: bigint }) => result.numUpdatedRows > 0n;

export function pendingTransactionOf(row: { signature: string; transaction: string; last_valid_block_height: string }): SignedTransaction {
  return { signature: row.signature, wire: row.transaction, lastValidBlockHeight: Number(row.last_valid_block_height) };
}

// ---------- escrows ----------

export async function findEscrow(db: Db, leaseId: string): Promise<Escrow | undefined> {
  return db.selectFrom('escrows').selectAll().where('lease_id', '=', leaseId).executeTakeFirst();
}

export async function insertOpeningEscrow(
  db: Db,
  row: Omit<Insertable<EscrowTable>, 'status' | 'open_signature' | 'open_transaction' | 'open_last_valid_block_height' | 'closed_signature' |
    'refunded' | 'created_at' | 'opened_at'>,
  tx: SignedTransaction,
): Promise<boolean> {
  return insertedOrRaced(db.insertInto('escrows').values({ ...row, status: 'opening', open_signature: tx.signature,
    open_transaction: tx.wire, open_last_valid_block_height: tx.lastValidBlockHeight }).execute());
}

export async function replaceOpeningTransaction(db: Db, leaseId: string, dead: string, tx: SignedTransaction): Promise<boolean> {
  return changed(await db.updateTable('escrows')
    .set({ open_signature: tx.signature, open_transaction: tx.wire, open_last_valid_block_height: tx.lastValidBlockHeight })
    .where('lease_id', '=', leaseId).where('status', '=', 'opening').where('open_signature', '=', dead)
    .executeTakeFirst());
}

export async function confirmEscrowOpen(db: Db, leaseId: string, signature: string, deposited: bigint): Promise<void> {
  await db.updateTable('escrows').set({ status: 'open', deposited, opened_at: new Date() })
    .where('lease_id', '=', leaseId).where('status', '=', 'opening').where('open_signature', '=', signature)
    .execute();
}

/** Drops an open that can no longer land (a failed start gives up on it); false if it changed meanwhile. */
export async function deleteAbandonedOpening(db: Db, leaseId: string, signature: string): Promise<boolean> {
  const result = await db.deleteFrom('escrows').where('lease_id', '=', leaseId).where('status', '=', 'opening')
    .where('open_signature', '=', signature).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

// ---------- settlements ----------

async function withPayouts(db: Db, settlement: Settlement | undefined): Promise<SettlementWithPayouts | undefined> {
  if (settlement === undefined) return undefined;
  const payouts = await db.selectFrom('settlement_payouts').selectAll()
    .where('lease_id', '=', settlement.lease_id).where('period', '=', settlement.period)
    .orderBy('provider_id').execute();
  return { settlement, payouts };
}

export async function findSettlement(db: Db, leaseId: string, period: number): Promise<SettlementWithPayouts | undefined> {
  return withPayouts(db, await db.selectFrom('settlements').selectAll()
    .where('lease_id', '=', leaseId).where('period', '=', String(period)).executeTakeFirst());
}

export async function findCloseSettlement(db: Db, leaseId: string): Promise<SettlementWithPayouts | undefined> {
  return withPayouts(db, await db.selectFrom('settlements').selectAll()
    .where('lease_id', '=', leaseId).where('kind', '=', 'close').executeTakeFirst());
}

/** The highest period the ledger holds for the lease (pending or confirmed), 0 for none. */
export async function lastLedgerPeriod(db: Db, leaseId: string, status?: 'confirmed'): Promise<number> {
  let query = db.selectFrom('settlements').select(sql<string | null>`max(period)`.as('period')).where('lease_id', '=', leaseId);
  if (status !== undefined) query = query.where('status', '=', status);
  const row = await query.executeTakeFirst();
  return Number(row?.period ?? 0);
}

/** The settlement and its payouts, in one transaction; false when its period (or the lease's close) exists. */
export async function insertPendingSettlement(
  db: Db,
  settlement: NewSettlement,
  payouts: SettlementPayout[],
  tx: SignedTransaction,
): Promise<boolean> {
  return insertedOrRaced(db.transaction().execute(async (trx) => {
    await trx.insertInto('settlements').values({ ...settlement, ...signed(tx), status: 'pending' }).execute();
    if (payouts.length > 0) await trx.insertInto('settlement_payouts').values(payouts).execute();
  }));
}

/**
 * A dead pending transaction's replacement; the payouts stay, their split is rewritten, and the top-up is planned
 * again (the allowance may have changed since).
 */
export async function replacePendingSettlement(
  db: Db,
  key: { leaseId: string; period: number; dead: string },
  totals: Pick<Settlement, 'gross' | 'fee' | 'burned' | 'top_up' | 'top_up_seconds'>,
  payouts: SettlementPayout[],
  tx: SignedTransaction,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.updateTable('settlements').set({ ...signed(tx), ...totals })
      .where('lease_id', '=', key.leaseId).where('period', '=', String(key.period))
      .where('status', '=', 'pending').where('signature', '=', key.dead)
      .executeTakeFirst();
    if (!changed(result)) return false;
    await trx.deleteFrom('settlement_payouts').where('lease_id', '=', key.leaseId).where('period', '=', String(key.period)).execute();
    if (payouts.length > 0) await trx.insertInto('settlement_payouts').values(payouts).execute();
    return true;
  });
}

/**
 * Marks a settlement confirmed and adds its top-up to the escrow's deposit and funded seconds (the ledger's own
 * sum, which the money invariant compares with the chain's); a close also closes the escrow with the chain's final
 * figures.
 */
export async function confirmSettlement(
  db: Db,
  key: { leaseId: string; period: number; signature: string },
  close?: { refunded: bigint; deposited: bigint },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const result = await trx.updateTable('settlements')
      .set({ status: 'confirmed', confirmed_at: new Date(), ...(close ? { refunded: close.refunded } : {}) })
      .where('lease_id', '=', key.leaseId).where('period', '=', String(key.period))
      .where('status', '=', 'pending').where('signature', '=', key.signature)
      .returning(['top_up', 'top_up_seconds'])
      .executeTakeFirst();
    if (result === undefined) return;
    if (BigInt(result.top_up) > 0n) {
      await trx.updateTable('escrows')
        .set((eb) => ({ deposited: eb('deposited', '+', result.top_up), duration_seconds: eb('duration_seconds', '+', result.top_up_seconds) }))
        .where('lease_id', '=', key.leaseId).execute();
    }
    if (close === undefined) return;
    await trx.updateTable('escrows')
      .set({ status: 'closed', closed_signature: key.signature, refunded: close.refunded, deposited: close.deposited })
      .where('lease_id', '=', key.leaseId).execute();
  });
}

// ---------- reclaims ----------

/**
 * The customer took the rest back itself (the program's reclaim): the escrow is recorded reclaimed with the chain's
 * figures; settlements still pending can no longer land and stay out of the books. False if it was already.
 */
export async function markEscrowReclaimed(db: Db, leaseId: string, chain: { refunded: bigint; deposited: bigint }): Promise<boolean> {
  return changed(await db.updateTable('escrows').set({ status: 'reclaimed', refunded: chain.refunded, deposited: chain.deposited })
    .where('lease_id', '=', leaseId).where('status', '=', 'open').executeTakeFirst());
}

// ---------- reads ----------

export interface EscrowBooks {
  deposited: string;
  paidToProviders: string;
  /** To the treasury (the program's Lease.fees). */
  fees: string;
  burned: string;
  refunded: string;
  lastPeriod: number;
}

/** The lease's books from confirmed settlements, in the program's terms (decimal strings of base units). */
export async function escrowBooks(db: Db, leaseId: string): Promise<EscrowBooks | undefined> {
  const escrow = await findEscrow(db, leaseId);
  if (escrow === undefined) return undefined;
  const sums = await db.selectFrom('settlements')
    .select([
      sql<string>`coalesce(sum(gross - fee - burned), 0)`.as('paid'),
      sql<string>`coalesce(sum(fee), 0)`.as('fees'),
      sql<string>`coalesce(sum(burned), 0)`.as('burned'),
      sql<string>`coalesce(max(period), 0)`.as('last_period'),
    ])
    .where('lease_id', '=', leaseId).where('status', '=', 'confirmed')
    .executeTakeFirstOrThrow();
  // The close's refund or the customer's reclaim, whichever ended the escrow.
  return { deposited: escrow.deposited, paidToProviders: String(sums.paid), fees: String(sums.fees), burned: String(sums.burned),
    refunded: escrow.refunded, lastPeriod: Number(sums.last_period) };
}

/** Confirmed settlements of a lease, oldest first, with their payouts. */
export async function listSettlements(db: Db, leaseId: string): Promise<SettlementWithPayouts[]> {
  const settlements = await db.selectFrom('settlements').selectAll()
    .where('lease_id', '=', leaseId).where('status', '=', 'confirmed').orderBy('period').execute();
  const out: SettlementWithPayouts[] = [];
  for (const settlement of settlements) out.push((await withPayouts(db, settlement))!);
  return out;
}

export interface ProviderEarnings {
  seconds: number;
  gross: string;
  net: string;
  fee: string;
  burn: string;
  /** Confirmed settlements that paid the provider. */
  settlements: number;
}

/** What a provider earned from confirmed settlements: seconds, gross, net (received), fee, burn. */
export async function providerEarnings(db: Db, providerId: string): Promise<ProviderEarnings> {
  const row = await db.selectFrom('settlement_payouts as p')
    .innerJoin('settlements as s', (join) => join.onRef('s.lease_id', '=', 'p.lease_id').onRef('s.period', '=', 'p.period'))
    .select([
      sql<string>`coalesce(sum(p.seconds), 0)`.as('seconds'),
      sql<string>`coalesce(sum(p.gross), 0)`.as('gross'),
      sql<string>`coalesce(sum(p.net), 0)`.as('net'),
      sql<string>`coalesce(sum(p.fee), 0)`.as('fee'),
      sql<string>`coalesce(sum(p.burn), 0)`.as('burn'),
      sql<string>`count(*)`.as('settlements'),
    ])
    .where('p.provider_id', '=', providerId).where('s.status', '=', 'confirmed')
    .executeTakeFirstOrThrow();
  return { seconds: Number(row.seconds), gross: String(row.gross), net: String(row.net), fee: String(row.fee), burn: String(row.burn),
    settlements: Number(row.settlements) };
}

export interface ProviderPayee {
  provider: Pick<Provider, 'id' | 'name' | 'tier' | 'payout_token_account'>;
  earnings: ProviderEarnings;
}

/** A provider as the ledger pays it: who it is, where its payouts go, and what it earned; undefined if unknown. */
export async function findPayee(db: Db, providerId: string): Promise<ProviderPayee | undefined> {
  const provider = await db.selectFrom('providers').select(['id', 'name', 'tier', 'payout_token_account'])
    .where('id', '=', providerId).executeTakeFirst();
  if (provider === undefined) return undefined;
  return { provider, earnings: await providerEarnings(db, providerId) };
}
