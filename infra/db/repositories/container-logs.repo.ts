/**
 * Containers' log lines (GET /v1/leases/:id/logs). Each assignment's batch is stored in its own
 * transaction: under the lease's advisory lock (so `seq` is commit order across the lease's ranks and
 * failovers) and its meter row's lock (so concurrent reports of one assignment share one rate window).
 * What is stored is decided by domain/container-logs.ts on the database's clock, which every API
 * process shares.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { IncomingLine, LogPolicy } from '../../../domain/container-logs';
import { admitLines, overRetention, retentionTarget, utf8Bytes } from '../../../domain/container-logs';
import type { Database } from '../schema';

/** An assignment as far as its logs are concerned. */
export interface LogOwner {
  assignmentId: string;
  leaseId: string;
  hostId: string;
  rank: number;
  epoch: number;
  /** How long ago it ended, by the database's clock; null while live. */
  endedMsAgo: number | null;
}

export async function logOwners(db: Kysely<Database>, assignmentIds: string[]): Promise<LogOwner[]> {
  if (assignmentIds.length === 0) return [];
  const rows = await db
    .selectFrom('assignments')
    .select(['id', 'lease_id', 'host_id', 'rank', 'epoch'])
    .select(sql<string | null>`round(extract(epoch from now() - ended_at) * 1000)::bigint`.as('ended_ms_ago'))
    .where('id', 'in', assignmentIds)
    .execute();
  return rows.map((r) => ({
    assignmentId: r.id,
    leaseId: r.lease_id,
    hostId: r.host_id,
    rank: r.rank,
    epoch: r.epoch,
    endedMsAgo: r.ended_ms_ago === null ? null : Math.max(0, Number(r.ended_ms_ago)),
  }));
}

export interface AppendOutcome {
  stored: number;
  /** Lines of this batch dropped by the rate bound (marked later, where lines are next stored). */
  dropped: number;
  /** Lines deleted to keep the assignment within its retention. */
  trimmed: number;
}

export async function appendContainerLogs(
  db: Kysely<Database>,
  owner: LogOwner,
  batch: { lines: IncomingLine[]; dropped: number },
  policy: LogPolicy,
): Promise<AppendOutcome> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`container-logs:${owner.leaseId}`}, 0))`.execute(trx);
    await trx
      .insertInto('container_log_meters')
      .values({ assignment_id: owner.assignmentId, lease_id: owner.leaseId, window_started_at: sql<Date>`now()` })
      .onConflict((oc) => oc.column('assignment_id').doNothing())
      .execute();
    const meter = await trx
      .selectFrom('container_log_meters')
      .selectAll()
      .select(sql<string>`(extract(epoch from now()) * 1000)::bigint`.as('now_ms'))
      .where('assignment_id', '=', owner.assignmentId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const before = { windowStartedAt: meter.window_started_at.getTime(), windowBytes: meter.window_bytes, droppedPending: meter.dropped_pending };
    const { stored, meter: after } = admitLines(before, batch.lines, batch.dropped, Number(meter.now_ms), policy);
    const droppedHere = batch.lines.length - stored.filter((l) => !l.marker).length;

    let bytes = 0;
    if (stored.length > 0) {
      const { rows } = await sql<{ top: string }>`select coalesce(max(seq), 0) as top from container_logs where lease_id = ${owner.leaseId}`.execute(trx);
      const top = BigInt(rows[0]?.top ?? 0);
      await trx
        .insertInto('container_logs')
        .values(stored.map((line, index) => {
          const size = utf8Bytes(line.text);
          bytes += size;
          return {
            lease_id: owner.leaseId,
            seq: (top + BigInt(index + 1)).toString(),
            assignment_id: owner.assignmentId,
            rank: owner.rank,
            epoch: owner.epoch,
            stream: line.stream,
            at: new Date(line.at),
            text: line.text,
            bytes: size,
          };
        }))
        .execute();
    }
    const kept = { lines: meter.kept_lines + stored.length, bytes: Number(meter.kept_bytes) + bytes };
    let trimmed = 0;
    if (overRetention(kept, policy)) {
      trimmed = await trimOldest(trx, owner, retentionTarget(policy));
      kept.lines -= trimmed;
      kept.bytes = await keptBytes(trx, owner.assignmentId);
    }
    await trx
      .updateTable('container_log_meters')
      .set({
        window_started_at: new Date(after.windowStartedAt),
        window_bytes: after.windowBytes,
        dropped_pending: after.droppedPending,
        kept_lines: kept.lines,
        kept_bytes: kept.bytes,
      })
      .where('assignment_id', '=', owner.assignmentId)
      .execute();
    return { stored: stored.length, dropped: droppedHere, trimmed };
  });
}

/** Deletes the assignment's oldest lines until its newest fit within `target`; returns how many. */
async function trimOldest(trx: Transaction<Database>, owner: LogOwner, target: { lines: number; bytes: number }): Promise<number> {
  const result = await sql`
    delete from container_logs
    where lease_id = ${owner.leaseId} and assignment_id = ${owner.assignmentId} and seq <= (
      select seq from (
        select seq, sum(bytes) over (order by seq desc) as newer_bytes, row_number() over (order by seq desc) as newer_lines
        from container_logs where assignment_id = ${owner.assignmentId}
      ) ranked
      where newer_bytes > ${target.bytes} or newer_lines > ${target.lines}
      order by seq desc limit 1)`.execute(trx);
  return Number(result.numAffectedRows ?? 0n);
}

async function keptBytes(trx: Transaction<Database>, assignmentId: string): Promise<number> {
  const { rows } = await sql<{ bytes: string | null }>`select sum(bytes) as bytes from container_logs where assignment_id = ${assignmentId}`.execute(trx);
  return Number(rows[0]?.bytes ?? 0);
}

export interface ContainerLogLine {
  seq: number;
  rank: number;
  epoch: number;
  stream: string;
  at: Date;
  text: string;
}

/** The lease's lines after `afterSeq` (of one rank when given), in seq order. */
export async function containerLogsAfter(
  db: Kysely<Database>,
  leaseId: string,
  afterSeq: number,
  limit: number,
  rank?: number,
): Promise<ContainerLogLine[]> {
  let query = db
    .selectFrom('container_logs')
    .select(['seq', 'rank', 'epoch', 'stream', 'at', 'text'])
    .where('lease_id', '=', leaseId)
    .where('seq', '>', String(afterSeq));
  if (rank !== undefined) query = query.where('rank', '=', rank);
  const rows = await query.orderBy('seq').limit(limit).execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/** Where each lease's log stands (its last seq; 0 when it has none): one query for every follower. */
export async function containerLogHeads(db: Kysely<Database>, leaseIds: string[]): Promise<Map<string, number>> {
  if (leaseIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('container_logs')
    .select(['lease_id', (eb) => eb.fn.max('seq').as('top')])
    .where('lease_id', 'in', leaseIds)
    .groupBy('lease_id')
    .execute();
  return new Map(rows.map((r) => [r.lease_id, Number(r.top)]));
}

/**
 * Deletes the logs of up to `leases` leases that ended before `endedBefore`; returns how many lines went.
 * Batched, so one sweep never holds a long transaction; the sweep calls again while it deletes.
 */
export async function deleteLogsOfLeasesEndedBefore(db: Kysely<Database>, endedBefore: Date, leases = 100): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // Every lease with lines has a meter row (written before its first line): a small table to scan.
    const expired = await trx
      .selectFrom('leases')
      .select('id')
      .where('ended_at', '<', endedBefore)
      .where((eb) => eb.exists(eb.selectFrom('container_log_meters').select('assignment_id').whereRef('container_log_meters.lease_id', '=', 'leases.id')))
      .limit(leases)
      .execute();
    const ids = expired.map((r) => r.id);
    if (ids.length === 0) return 0;
    const deleted = await trx.deleteFrom('container_logs').where('lease_id', 'in', ids).executeTakeFirst();
    await trx.deleteFrom('container_log_meters').where('lease_id', 'in', ids).execute();
    return Number(deleted.numDeletedRows);
  });
}

/** Whether a follower may still get lines: the lease's status and how long ago it ended (database clock). */
export async function leaseLogState(db: Kysely<Database>, leaseId: string): Promise<{ status: string; endedMsAgo: number | null } | undefined> {
  const row = await db
    .selectFrom('leases')
    .select('status')
    .select(sql<string | null>`round(extract(epoch from now() - ended_at) * 1000)::bigint`.as('ended_ms_ago'))
    .where('id', '=', leaseId)
    .executeTakeFirst();
  return row && { status: row.status, endedMsAgo: row.ended_ms_ago === null ? null : Math.max(0, Number(row.ended_ms_ago)) };
}
