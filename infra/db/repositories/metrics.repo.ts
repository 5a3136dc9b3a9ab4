/**
 * What the API's `/metrics` reports from PostgreSQL, read at scrape time: one query per figure, all
 * aggregates (a scrape costs the same whatever the fleet's size in rows returned).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database, HostStatus } from '../schema';

/** Leases per status; statuses with no lease are absent. */
export async function leaseCountsByStatus(db: Kysely<Database>): Promise<{ status: string; count: number }[]> {
  const rows = await db.selectFrom('leases')
    .select(['status', sql<string>`count(*)`.as('count')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
}

/** Hosts per status, and how many of them are unhealthy (out of placement) now. */
export async function hostCountsByStatus(db: Kysely<Database>): Promise<{ status: HostStatus; count: number; unhealthy: number }[]> {
  const rows = await db.selectFrom('hosts')
    .select([
      'status',
      sql<string>`count(*)`.as('count'),
      sql<string>`count(*) filter (where unhealthy_until > now())`.as('unhealthy'),
    ])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.count), unhealthy: Number(r.unhealthy) }));
}

/** Base units (decimal strings), over every lease: the ledger's books as the chain confirmed them. */
export interface EscrowVolume {
  /** Locked in escrows that opened (top-ups included). */
  deposited: string;
  /** Gross of confirmed settlements: what customers paid for verified compute (paidToProviders + fees + burned). */
  computeSold: string;
  paidToProviders: string;
  /** To the treasury. */
  fees: string;
  burned: string;
  refunded: string;
  /** Drawn from customers' allowances into their escrows by confirmed settlements' top-ups (part of `deposited`). */
  toppedUp: string;
}

/**
 * Sums of the confirmed ledger (escrow-ledger.repo's escrowBooks, for all leases at once): deposits of
 * escrows that opened, and confirmed settlements' split, `paid = gross - fee - burned`.
 */
export async function escrowVolume(db: Kysely<Database>): Promise<EscrowVolume> {
  const row = await sql<{ deposited: string; gross: string; paid: string; fees: string; burned: string; refunded: string; topped_up: string }>`
    select
      (select coalesce(sum(deposited), 0) from escrows where status <> 'opening') as deposited,
      coalesce(sum(s.gross), 0) as gross,
      coalesce(sum(s.gross - s.fee - s.burned), 0) as paid,
      coalesce(sum(s.fee), 0) as fees,
      coalesce(sum(s.burned), 0) as burned,
      coalesce(sum(s.refunded), 0) as refunded,
      coalesce(sum(s.top_up), 0) as topped_up
    from settlements s
    where s.status = 'confirmed'`.execute(db);
  const sums = row.rows[0]!;
  return {
    deposited: String(sums.deposited),
    computeSold: String(sums.gross),
    paidToProviders: String(sums.paid),
    fees: String(sums.fees),
    burned: String(sums.burned),
    refunded: String(sums.refunded),
    toppedUp: String(sums.topped_up),
  };
}
