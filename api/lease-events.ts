/**
 * A lease's events, merged from three sources at read time: `lease_events` (status changes, ranks
 * placed, running and ended, written where each change is made), the escrow's confirmed opening and the
 * confirmed settlements (both read from the ledger, which the escrow code alone writes).
 *
 * Event ids. Each source has its own gap-free, commit-ordered position: the event seq (numbered under a
 * per-lease lock), the settled period (the program takes periods strictly in order) and whether the
 * escrow's opening was seen. An event's id is the position *after* it in all three, `<seq>.<period>.<0|1>`,
 * so a reader that resumes from any id (Last-Event-ID) gets exactly what it has not seen, whatever order
 * the sources' rows committed in. Within one read, events are merged by time, each source keeping its
 * own order.
 */
import type { Kysely } from 'kysely';
import { formatTokenAmount } from '../domain/money';
import { confirmedSettlementsAfter, leaseEventsAfter, openedEscrow } from '../infra/db/repositories/lease-events.repo';
import type { Database } from '../infra/db/schema';
import { toSettlementView } from './payment-views';
import type { LeaseEventKindView, LeaseEventView } from './schemas/events.schemas';
import { EVENT_ID } from './schemas/events.schemas';

export interface EventCursor {
  seq: number;
  period: number;
  escrow: boolean;
}

export const START: EventCursor = { seq: 0, period: 0, escrow: false };

export function formatEventId(cursor: EventCursor): string {
  return `${cursor.seq}.${cursor.period}.${cursor.escrow ? 1 : 0}`;
}

/** Undefined for anything that is not an id this API gave out. */
export function parseEventId(id: string): EventCursor | undefined {
  const match = EVENT_ID.exec(id);
  if (!match) return undefined;
  return { seq: Number(match[1]), period: Number(match[2]), escrow: match[3] === '1' };
}

interface Pending {
  at: Date;
  kind: LeaseEventKindView;
  data: Record<string, unknown>;
  advance: (cursor: EventCursor) => EventCursor;
}

export interface EventsPage {
  events: LeaseEventView[];
  cursor: EventCursor;
  /** More events wait after this page. */
  more: boolean;
}

/**
 * The events after `cursor`, at most `limit`. A source that filled its share may have more rows after
 * it; the merge stops where that source's rows run out, so nothing later is given out ahead of them.
 */
export async function readLeaseEvents(db: Kysely<Database>, leaseId: string, cursor: EventCursor, limit = 500): Promise<EventsPage> {
  // lease_events first: a settlement confirmed before a status change committed is then read too.
  const [rows, settlements, escrow] = [
    await leaseEventsAfter(db, leaseId, cursor.seq, limit),
    await confirmedSettlementsAfter(db, leaseId, cursor.period, limit),
    cursor.escrow ? undefined : await openedEscrow(db, leaseId),
  ];
  const sources: { items: Pending[]; full: boolean }[] = [
    {
      full: rows.length === limit,
      items: rows.map((row) => ({
        at: new Date(row.at as Date),
        kind: row.kind as LeaseEventKindView,
        data: row.detail,
        advance: (c) => ({ ...c, seq: row.seq }),
      })),
    },
    {
      full: settlements.length === limit,
      items: settlements.map((s) => ({
        at: new Date((s.settlement.confirmed_at ?? s.settlement.created_at) as Date),
        kind: 'settlement' as const,
        data: toSettlementView(s),
        advance: (c) => ({ ...c, period: Number(s.settlement.period) }),
      })),
    },
    {
      full: false,
      items: escrow
        ? [{
            at: escrow.openedAt,
            kind: 'escrow' as const,
            data: { address: escrow.address, deposited: formatTokenAmount(escrow.deposited) },
            advance: (c) => ({ ...c, escrow: true }),
          }]
        : [],
    },
  ];
  const events: LeaseEventView[] = [];
  let position = cursor;
  for (;;) {
    if (events.length >= limit) return { events, cursor: position, more: true };
    if (sources.some((source) => source.full && source.items.length === 0)) return { events, cursor: position, more: true };
    let next: { items: Pending[] } | undefined;
    for (const source of sources) {
      if (source.items.length > 0 && (!next || source.items[0]!.at < next.items[0]!.at)) next = source;
    }
    if (!next) return { events, cursor: position, more: false };
    const item = next.items.shift()!;
    position = item.advance(position);
    events.push({ id: formatEventId(position), at: item.at.toISOString(), kind: item.kind, data: item.data });
  }
}
