/**
 * A lease's events (GET /v1/leases/:id/events). Writers append in the transaction that makes the change;
 * each lease's events are numbered (`seq`) under a per-lease advisory lock, so seq order is commit order
 * and a reader that resumes after seq N misses nothing that commits later. Settlements and the escrow's
 * opening are not copied here: the ledger already records them, and they are read from it (below).
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Database, LeaseEventRow, Settlement } from '../schema';
import type { SettlementWithPayouts } from './escrow-ledger.repo';

export type LeaseEventKind = 'status' | 'placed' | 'running' | 'ended' | 'warning';

export interface NewLeaseEvent {
  leaseId: string;
  kind: LeaseEventKind;
  /** Natural key: a second append with the same (lease, kind, key) adds nothing. Null: always appended. */
  key: string | null;
  detail: Record<string, unknown>;
}

/**
 * Takes the lease's event lock until the transaction ends. Writers that also lock the lease's row take
 * this first; the others append as their last statement, so a holder of this lock never waits on them.
 */
export async function lockLeaseEvents(trx: Transaction<Database>, leaseId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`lease-events:${leaseId}`}, 0))`.execute(trx);
}

/** Appends in order; must run inside the writer's transaction (the lock lasts until it commits). */
export async function appendLeaseEvents(trx: Transaction<Database>, events: NewLeaseEvent[]): Promise<void> {
  const leaseIds = [...new Set(events.map((event) => event.leaseId))].sort();
  for (const leaseId of leaseIds) await lockLeaseEvents(trx, leaseId);
  for (const event of events) {
    // A statement of its own after the lock: its snapshot sees every event committed before the lock was granted.
    await sql`
      insert into lease_events (lease_id, seq, kind, key, detail)
      select ${event.leaseId}, coalesce(max(seq), 0) + 1, ${event.kind}, ${event.key}, ${JSON.stringify(event.detail)}::jsonb
      from lease_events where lease_id = ${event.leaseId}
      on conflict (lease_id, kind, key) where key is not null do nothing`.execute(trx);
  }
}

/** A warning for the customer (its allowance runs out, …): once per (lease, key), whatever retries happen. */
export async function recordLeaseWarning(db: Kysely<Database>, leaseId: string, key: string, detail: Record<string, unknown>): Promise<void> {
  await db.transaction().execute((trx) => appendLeaseEvents(trx, [{ leaseId, kind: 'warning', key, detail }]));
}

/** The lease's events after `afterSeq`, in seq order. */
export async function leaseEventsAfter(db: Kysely<Database>, leaseId: string, afterSeq: number, limit: number): Promise<LeaseEventRow[]> {
  return db
    .selectFrom('lease_events')
    .selectAll()
    .where('lease_id', '=', leaseId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** Confirmed settlements after `afterPeriod`, oldest first, with their payouts (periods confirm in order on-chain). */
export async function confirmedSettlementsAfter(
  db: Kysely<Database>,
  leaseId: string,
  afterPeriod: number,
  limit: number,
): Promise<SettlementWithPayouts[]> {
  const settlements: Settlement[] = await db
    .selectFrom('settlements')
    .selectAll()
    .where('lease_id', '=', leaseId)
    .where('status', '=', 'confirmed')
    .where('period', '>', String(afterPeriod))
    .orderBy('period')
    .limit(limit)
    .execute();
  if (settlements.length === 0) return [];
  const payouts = await db
    .selectFrom('settlement_payouts')
    .selectAll()
    .where('lease_id', '=', leaseId)
    .where('period', 'in', settlements.map((s) => s.period))
    .orderBy('provider_id')
    .execute();
  return settlements.map((settlement) => ({
    settlement,
    payouts: payouts.filter((p) => String(p.period) === String(settlement.period)),
  }));
}

export interface OpenedEscrow {
  address: string;
  deposited: string;
  openedAt: Date;
}

/** The lease's escrow once the chain confirmed its opening; undefined before. */
export async function openedEscrow(db: Kysely<Database>, leaseId: string): Promise<OpenedEscrow | undefined> {
  const row = await db
    .selectFrom('escrows')
    .select(['address', 'deposited', 'opened_at', 'created_at'])
    .where('lease_id', '=', leaseId)
    .where('status', '<>', 'opening')
    .executeTakeFirst();
  if (!row) return undefined;
  return { address: row.address, deposited: String(row.deposited), openedAt: new Date((row.opened_at ?? row.created_at) as Date) };
}

/** Where each source of a lease's events stands now: what a follower compares its position with. */
export interface LeaseEventsHead {
  status: string;
  seq: number;
  period: number;
  escrowOpened: boolean;
}

/** One query for every followed lease, whatever their number. */
export async function leaseEventHeads(db: Kysely<Database>, leaseIds: string[]): Promise<Map<string, LeaseEventsHead>> {
  if (leaseIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('leases as l')
    .select((eb) => [
      'l.id',
      'l.status',
      eb.selectFrom('lease_events as e').select(sql<string>`coalesce(max(e.seq), 0)`.as('m')).whereRef('e.lease_id', '=', 'l.id').as('seq'),
      eb
        .selectFrom('settlements as s')
        .select(sql<string>`coalesce(max(s.period), 0)`.as('m'))
        .whereRef('s.lease_id', '=', 'l.id')
        .where('s.status', '=', 'confirmed')
        .as('period'),
      eb.exists(eb.selectFrom('escrows as x').select('x.lease_id').whereRef('x.lease_id', '=', 'l.id').where('x.status', '<>', 'opening')).as('escrow'),
    ])
    .where('l.id', 'in', leaseIds)
    .execute();
  return new Map(
    rows.map((row) => [row.id, { status: row.status, seq: Number(row.seq ?? 0), period: Number(row.period ?? 0), escrowOpened: Boolean(row.escrow) }]),
  );
}
