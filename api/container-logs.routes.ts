/**
 * GET /v1/leases/:id/logs: the lease's container lines in seq order, across its ranks and failovers
 * (each says its rank and epoch). As JSON, a page of up to PAGE lines after `since` and the cursor to
 * page on; with `follow=true`, server-sent events (`log`, id = seq; resumable with Last-Event-ID), live
 * as hosts report them, a comment every heartbeat, and `end` once the lease has ended and the grace for
 * its last lines has passed.
 */
import { openEventStream } from './event-stream';
import type { Request, Response } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LogPolicy } from '../domain/container-logs';
import { DEFAULT_LOG_POLICY } from '../domain/container-logs';
import type { LeaseStatus } from '../domain/lease';
import { isTerminal, LEASE_STATUSES } from '../domain/lease';
import type { ContainerLogLine } from '../infra/db/repositories/container-logs.repo';
import { containerLogHeads, containerLogsAfter, leaseLogState } from '../infra/db/repositories/container-logs.repo';
import type { Database } from '../infra/db/schema';
import type { ContainerLogsWatch } from './container-logs-watch';
import { parseOrThrow } from './errors';
import type { LeaseLogsPage, LogLineView } from './schemas/logs.schemas';
import { LeaseLogsQuery, LogsLastEventIdHeader } from './schemas/logs.schemas';

export const PAGE = 1000;

export interface ContainerLogsDeps {
  db: Kysely<Database>;
  watch: ContainerLogsWatch;
  logger: Logger;
  /** A comment line this often keeps proxies from closing a quiet stream. Default 15 s. */
  heartbeatMs?: number;
  policy?: Pick<LogPolicy, 'endedGraceMs'>;
}

export const toLogLineView = (line: ContainerLogLine): LogLineView => ({
  seq: line.seq,
  rank: line.rank,
  epoch: line.epoch,
  stream: line.stream === 'stderr' ? 'stderr' : 'stdout',
  at: line.at.toISOString(),
  text: line.text,
});

export async function sendContainerLogs(req: Request, res: Response, leaseId: string, deps: ContainerLogsDeps): Promise<void> {
  const query = parseOrThrow(LeaseLogsQuery, req.query, 'query');
  const { 'last-event-id': lastEventId } = parseOrThrow(LogsLastEventIdHeader, req.headers, 'headers');
  const since = lastEventId !== undefined ? Number(lastEventId) : query.since;
  if (query.follow !== 'true') {
    const lines = (await containerLogsAfter(deps.db, leaseId, since, PAGE, query.rank)).map(toLogLineView);
    const page: LeaseLogsPage = { lines, next: lines.at(-1)?.seq ?? since };
    res.json(page);
    return;
  }
  await stream(res, leaseId, since, query.rank, deps);
}

const frame = (line: LogLineView): string => `id: ${line.seq}\nevent: log\ndata: ${JSON.stringify(line)}\n\n`;

async function stream(res: Response, leaseId: string, from: number, rank: number | undefined, deps: ContainerLogsDeps): Promise<void> {
  const { db, watch, logger, heartbeatMs = 15_000 } = deps;
  const graceMs = (deps.policy ?? DEFAULT_LOG_POLICY).endedGraceMs;
  const gone = openEventStream(res);
  let cursor = from;
  try {
    for (;;) {
      // Where the lease stands before the lines: once it ended past the grace, what is read next is all there is.
      const state = await leaseLogState(db, leaseId);
      // Every line up to the head is committed (seqs are given under the lease's lock): once read, a rank
      // filter's follower waits past the head, not past its own last line, which other ranks' lines pass.
      const head = (await containerLogHeads(db, [leaseId])).get(leaseId) ?? 0;
      for (let more = true; more && !gone.aborted;) {
        const lines = await containerLogsAfter(db, leaseId, cursor, PAGE, rank);
        for (const line of lines) res.write(frame(toLogLineView(line)));
        cursor = lines.at(-1)?.seq ?? cursor;
        more = lines.length === PAGE;
      }
      const ended = state === undefined || (LEASE_STATUSES.includes(state.status as LeaseStatus) && isTerminal(state.status as LeaseStatus));
      const graceLeftMs = ended ? graceMs - (state?.endedMsAgo ?? graceMs) : Number.POSITIVE_INFINITY;
      if (graceLeftMs <= 0) {
        res.write(`event: end\ndata: ${JSON.stringify({ status: state?.status ?? null, next: cursor })}\n\n`);
        break;
      }
      const outcome = await watch.waitForChange(leaseId, Math.max(cursor, head), Math.min(heartbeatMs, graceLeftMs + 50), gone);
      if (outcome === 'closed') break;
      if (outcome === 'idle') res.write(': keep-alive\n\n');
    }
  } catch (err) {
    // The status line has gone out: all that is left is to end the stream; the client resumes from its last id.
    logger.warn({ err, leaseId }, 'container logs stream failed');
  }
  res.end();
}
