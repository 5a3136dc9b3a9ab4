/** A lease's events as GET /v1/leases/:id/events serves them, as JSON or as server-sent events. */
import { z } from '../zod';

export const LEASE_EVENT_KINDS = ['status', 'placed', 'running', 'ended', 'warning', 'escrow', 'settlement'] as const;
export type LeaseEventKindView = (typeof LEASE_EVENT_KINDS)[number];

/**
 * `<seq>.<period>.<escrow>`: the reader's position in each of the lease's three sources (api/lease-events.ts).
 * At most 9 digits of seq: lease_events.seq is a PostgreSQL integer, and a larger one sent back made the
 * query fail with a 500 (found by schemathesis) instead of a 400.
 */
export const EVENT_ID = /^(\d{1,9})\.(\d{1,10})\.([01])$/;

export const LeaseEventView = z
  .object({
    id: z.string().regex(EVENT_ID).openapi({
      example: '7.2.1',
      description:
        'Position after this event, `<events seq>.<settled period>.<escrow opened 0|1>`: send it back as Last-Event-ID (or `after`) to get only what came later',
    }),
    at: z.iso.datetime(),
    kind: z.enum(LEASE_EVENT_KINDS).openapi({
      description:
        'status: {status, endReason?}; placed: {assignmentId, rank, epoch, hostId, providerId, tier}; running: {assignmentId, rank, epoch}; '
        + 'ended: {assignmentId, rank, epoch, reason}; warning: {code (funds_low | allowance_exhausted), message, endsAt}; escrow: {address, deposited} once opened on-chain; settlement: a confirmed Settlement',
    }),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi('LeaseEvent');
export type LeaseEventView = z.infer<typeof LeaseEventView>;

export const LeaseEventsQuery = z.object({
  after: z.string().regex(EVENT_ID, 'must be an event id like "7.2.1"').optional().openapi({
    description: 'Only events after this id (as the Last-Event-ID header, which wins when both are sent)',
  }),
});

export const LastEventIdHeader = z.object({
  'last-event-id': z.string().regex(EVENT_ID, 'must be an event id like "7.2.1"').optional(),
});
