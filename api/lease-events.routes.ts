/**
 * GET /v1/leases/:id/events. With `Accept: text/event-stream`: server-sent events, every stored event
 * after Last-Event-ID then live ones as they are written, a comment every heartbeat, and an `end` event
 * once the lease's terminal status was sent. Otherwise a JSON array (up to PAGE events; page on with
 * `?after=<last id>`).
 */
import { openEventStream } from './event-stream';
import type { Request, Response } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LeaseStatus } from '../domain/lease';
import { isTerminal, LEASE_STATUSES } from '../domain/lease';
import { leaseEventHeads } from '../infra/db/repositories/lease-events.repo';
import type { Database } from '../infra/db/schema';
import { parseOrThrow } from './errors';
import type { EventCursor } from './lease-events';
import { parseEventId, readLeaseEvents, START } from './lease-events';
import type { LeaseEventsWatch } from './lease-events-watch';
import type { LeaseEventView } from './schemas/events.schemas';
import { LastEventIdHeader, LeaseEventsQuery } from './schemas/events.schemas';

export const PAGE = 1000;

export interface LeaseEventsDeps {
  db: Kysely<Database>;
  watch: LeaseEventsWatch;
  logger: Logger;
  /** A comment line this often keeps proxies from closing a quiet stream. Default 15 s. */
  heartbeatMs?: number;
}

export function wantsEventStream(req: Request): boolean {
  return (req.get('accept') ?? '').toLowerCase().includes('text/event-stream');
}

export async function sendLeaseEvents(req: Request, res: Response, leaseId: string, deps: LeaseEventsDeps): Promise<void> {
  const { after } = parseOrThrow(LeaseEventsQuery, req.query, 'query');
  const { 'last-event-id': lastEventId } = parseOrThrow(LastEventIdHeader, req.headers, 'headers');
  const cursor = parseEventId(lastEventId ?? after ?? '') ?? START;
  if (!wantsEventStream(req)) {
    res.json((await readLeaseEvents(deps.db, leaseId, cursor, PAGE)).events);
    return;
  }
  await stream(res, leaseId, cursor, deps);
}

const frame = (event: LeaseEventView): string => `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`;

async function stream(res: Response, leaseId: string, from: EventCursor, deps: LeaseEventsDeps): Promise<void> {
  const { db, watch, logger, heartbeatMs = 15_000 } = deps;
  const gone = openEventStream(res);
  let cursor = from;
  try {
    for (;;) {
      // The status before the events: when it is terminal, its event is in what is read next.
      const status = (await leaseEventHeads(db, [leaseId])).get(leaseId)?.status;
      for (let more = true; more && !gone.aborted;) {
        const page = await readLeaseEvents(db, leaseId, cursor);
        for (const event of page.events) res.write(frame(event));
        cursor = page.cursor;
        more = page.more;
      }
      if (status === undefined || (LEASE_STATUSES.includes(status as LeaseStatus) && isTerminal(status as LeaseStatus))) {
        res.write(`event: end\ndata: ${JSON.stringify({ status: status ?? null })}\n\n`);
        break;
      }
      const outcome = await watch.waitForChange(leaseId, cursor, heartbeatMs, gone);
      if (outcome === 'closed') break;
      if (outcome === 'idle') res.write(': keep-alive\n\n');
    }
  } catch (err) {
    // The status line has gone out: all that is left is to end the stream; the client resumes from its last id.
    logger.warn({ err, leaseId }, 'lease events stream failed');
  }
  res.end();
}
