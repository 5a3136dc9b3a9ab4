/** A lease's container logs as GET /v1/leases/:id/logs serves them, as JSON pages or server-sent events. */
import { z } from '../zod';

export const LogLineView = z
  .object({
    seq: z.int().openapi({ description: 'The line’s place in the lease’s log, from 1, across ranks and failovers; the cursor for `since`' }),
    rank: z.int(),
    epoch: z.int().openapi({ description: 'The assignment epoch that wrote it: it grows at each failover of the rank' }),
    stream: z.enum(['stdout', 'stderr']),
    at: z.iso.datetime().openapi({ description: 'When the container wrote it (its host’s clock)' }),
    text: z.string().openapi({ description: 'The line without its newline; "[lease-engine: N lines dropped]" marks a gap' }),
  })
  .openapi('LogLine');
export type LogLineView = z.infer<typeof LogLineView>;

export const LeaseLogsPage = z
  .object({
    lines: z.array(LogLineView),
    next: z.int().openapi({ description: 'Pass as `since` to get the lines after these (the same value when there were none)' }),
  })
  .openapi('LeaseLogs');
export type LeaseLogsPage = z.infer<typeof LeaseLogsPage>;

const Seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const LeaseLogsQuery = z.strictObject({
  rank: z.coerce.number().int().min(0).max(1023).optional().openapi({ description: 'Only this rank’s lines (all its epochs)' }),
  since: Seq.default(0).openapi({ description: 'Only lines with a seq above this one (exclusive cursor); 0: from the oldest kept' }),
  follow: z.enum(['true', 'false']).optional().openapi({
    description: 'true: server-sent events (`log` events, id = seq) until the lease has ended and its last lines are in, then `end`',
  }),
});

export const LogsLastEventIdHeader = z.object({
  'last-event-id': z.string().regex(/^\d{1,15}$/, 'must be the seq of a log line').optional(),
});
