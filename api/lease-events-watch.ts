/**
 * Followers of lease events (GET /v1/leases/:id/events as server-sent events). One query per tick reads
 * where every followed lease's sources stand, whatever the number of open streams; a stream reads its
 * new events only when its lease moved.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LeaseEventsHead } from '../infra/db/repositories/lease-events.repo';
import { leaseEventHeads } from '../infra/db/repositories/lease-events.repo';
import type { Database } from '../infra/db/schema';
import type { EventCursor } from './lease-events';
import { PollingWatch } from './polling-watch';

export type { WatchOutcome } from './polling-watch';

export class LeaseEventsWatch extends PollingWatch<EventCursor, LeaseEventsHead> {
  constructor(db: Kysely<Database>, tickMs = 250, log?: Logger) {
    super(
      'lease events',
      (leaseIds) => leaseEventHeads(db, leaseIds),
      (head, cursor) => !!head && (head.seq > cursor.seq || head.period > cursor.period || (head.escrowOpened && !cursor.escrow)),
      tickMs,
      log,
    );
  }
}
