/**
 * What hosts report through the API (DESIGN §3): their containers' states, and proof receipts that
 * the API verified on arrival. The assignment row holds where each receipt chain stands (its tip) and
 * what the engine watched (arrival of the first and latest accepted receipt), so that the next report
 * is verified against it and nothing is paid twice or beyond what was watched.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { ContainerState, ProofReceipt } from '../../../domain/proof-receipt';
import type { Database } from '../schema';
import { appendLeaseEvents } from './lease-events.repo';

export interface ContainerReport {
  assignmentId: string;
  epoch: number;
  state: ContainerState;
  exitCode?: number;
  detail?: string;
}

/** A live assignment of the reporting host as the report found it: what its container states and tips are checked against. */
export interface LiveAssignment {
  id: string;
  epoch: number;
  reported_state: string | null;
  reported_exit_code: number | null;
  running_at: Date | null;
  /** Its receipt chain as the same statement read it, unlocked: what the report's receipts are verified against first. */
  standing: ChainStanding;
}

/** What a chain is verified against: the assignment, its host's key, and the database clock. */
const STANDING_COLUMNS = [
  'assignments.id', 'assignments.lease_id', 'assignments.host_id', 'assignments.gpu_id', 'assignments.epoch',
  'hosts.public_key', 'assignments.started_at', 'assignments.ended_at', 'assignments.proof_interval_ms',
  'assignments.period', 'assignments.challenge_seed', 'assignments.prev_period', 'assignments.prev_challenge_seed',
  'assignments.tip_seq', 'assignments.tip_hash', 'assignments.tip_at', 'assignments.tip_state',
  'assignments.first_receipt_at', 'assignments.last_receipt_at', 'assignments.payable_ms', 'assignments.rejected_streak',
] as const;

/**
 * A report is the host's sign of life: it keeps the host online (and brings a lost one back). The same
 * statement reads the host's live assignments, their chains and the clock, so a routine report costs one
 * round trip before its receipts, and one to store them (`advanceUnmovedChain`).
 */
export async function recordHostReport(db: Kysely<Database>, hostId: string): Promise<LiveAssignment[]> {
  const rows = await db
    .with('beat', (qb) => qb.updateTable('hosts').set({ last_heartbeat_at: sql<Date>`now()`, status: 'online' }).where('id', '=', hostId))
    .selectFrom('assignments')
    .innerJoin('hosts', 'hosts.id', 'assignments.host_id')
    .select([...STANDING_COLUMNS, 'assignments.reported_state', 'assignments.reported_exit_code', 'assignments.running_at'])
    .select(sql<Date>`clock_timestamp()`.as('clock'))
    .where('assignments.host_id', '=', hostId)
    .where('assignments.ended_at', 'is', null)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    epoch: row.epoch,
    reported_state: row.reported_state,
    reported_exit_code: row.reported_exit_code,
    running_at: row.running_at,
    standing: toStanding(row, row.clock),
  }));
}

/**
 * Records each container's state on the host's own live assignment of that epoch; anything else (an
 * assignment of another host, a stale epoch, one that ended) changes nothing. `running_at` is set once,
 * the first time the host says the container runs: the dispatch waits on it, and the lease gets its
 * `running` event for that rank. `live` is what `recordHostReport` read; read here when not given.
 */
export async function recordContainerStates(
  db: Kysely<Database>,
  hostId: string,
  containers: ContainerReport[],
  live?: readonly Omit<LiveAssignment, 'standing'>[],
): Promise<void> {
  if (containers.length === 0) return;
  // One read bounds the writes by what the host really runs, whatever it lists (up to 1024 entries).
  const assignments = live ?? (await db
    .selectFrom('assignments')
    .select(['id', 'epoch', 'reported_state', 'reported_exit_code', 'running_at'])
    .where('host_id', '=', hostId)
    .where('ended_at', 'is', null)
    .execute());
  const latest = [...new Map(containers.map((c) => [c.assignmentId, c])).values()];
  for (const container of latest) {
    const assignment = assignments.find((a) => a.id === container.assignmentId && a.epoch === container.epoch);
    if (!assignment) continue;
    if (assignment.reported_state === container.state && assignment.reported_exit_code === (container.exitCode ?? null)) continue;
    if (assignment.running_at === null && hasStarted(container)) await recordFirstRunning(db, hostId, container);
    else await recordContainerState(db, hostId, container);
  }
}

/**
 * The container ran: it runs, or it exited with an exit code (Docker gives one only to a container that
 * started). A job done in less than a report interval ran; one the host could not start is `missing`.
 */
export function hasStarted(container: ContainerReport): boolean {
  return container.state === 'running' || (container.state === 'exited' && container.exitCode !== undefined);
}

function containerUpdate(db: Kysely<Database> | Transaction<Database>, hostId: string, container: ContainerReport) {
  return db
    .updateTable('assignments')
    .set({
      reported_state: container.state,
      reported_exit_code: container.exitCode ?? null,
      reported_detail: container.detail ?? null,
      reported_at: sql<Date>`now()`,
      running_at: sql<Date>`coalesce(running_at, case when ${hasStarted(container)} then now() end)`,
    })
    .where('id', '=', container.assignmentId)
    .where('host_id', '=', hostId)
    .where('epoch', '=', container.epoch)
    .where('ended_at', 'is', null);
}

async function recordContainerState(db: Kysely<Database>, hostId: string, container: ContainerReport): Promise<void> {
  await containerUpdate(db, hostId, container)
    .where((eb) =>
      eb.or([
        eb('reported_state', 'is', null),
        eb('reported_state', '<>', container.state),
        sql<boolean>`reported_exit_code is distinct from ${container.exitCode ?? null}`,
      ]),
    )
    .execute();
}

/**
 * The first report of the container running, with the lease's `running` event: the only transition that
 * writes an event, so the routine reports stay one statement each. A concurrent report that set
 * `running_at` first wins, and this one changes nothing.
 */
async function recordFirstRunning(db: Kysely<Database>, hostId: string, container: ContainerReport): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const started = await containerUpdate(trx, hostId, container)
      .where('running_at', 'is', null)
      .returning(['lease_id', 'rank', 'epoch'])
      .executeTakeFirst();
    if (!started) return;
    await appendLeaseEvents(trx, [{
      leaseId: started.lease_id,
      kind: 'running',
      key: container.assignmentId,
      detail: { assignmentId: container.assignmentId, rank: started.rank, epoch: started.epoch },
    }]);
  });
}

export interface ChainStanding {
  assignmentId: string;
  leaseId: string;
  hostId: string;
  gpuId: string;
  epoch: number;
  publicKey: string;
  startedAt: number;
  endedAt: number | null;
  proofIntervalMs: number;
  period: number;
  challengeSeed: string;
  previousChallenge: { period: number; seed: string } | null;
  tip: { seq: number; hash: string; at: number; containerState: ContainerState } | null;
  firstReceiptAt: number | null;
  payableMs: number;
  rejectedStreak: number;
  /** The database clock once the chain is locked: the receipts' arrival time. */
  now: number;
}

/** Locks the assignment's row for the rest of the transaction, so two reports of one chain are verified one after the other. */
export async function lockChain(trx: Transaction<Database>, assignmentId: string): Promise<ChainStanding | undefined> {
  const row = await trx
    .selectFrom('assignments')
    .innerJoin('hosts', 'hosts.id', 'assignments.host_id')
    .select(STANDING_COLUMNS)
    .where('assignments.id', '=', assignmentId)
    .forUpdate(['assignments'])
    .executeTakeFirst();
  if (!row) return undefined;
  // Read once the lock is held: a report that waited for another must not arrive before it.
  const { clock } = await sql<{ clock: Date }>`select clock_timestamp() as clock`.execute(trx).then((r) => r.rows[0] as { clock: Date });
  return toStanding(row, clock);
}

interface StandingRow {
  id: string; lease_id: string; host_id: string; gpu_id: string; epoch: number; public_key: string;
  started_at: Date; ended_at: Date | null; proof_interval_ms: number; period: number; challenge_seed: string;
  prev_period: number | null; prev_challenge_seed: string | null; tip_seq: number | null; tip_hash: string | null;
  tip_at: Date | null; tip_state: string | null; first_receipt_at: Date | null; last_receipt_at: Date | null;
  payable_ms: string; rejected_streak: number;
}

function toStanding(row: StandingRow, clock: Date): ChainStanding {
  // Never before the latest arrival recorded, so the watched time only grows.
  const now = Math.max(new Date(clock).getTime(), row.last_receipt_at?.getTime() ?? 0);
  return {
    assignmentId: row.id,
    leaseId: row.lease_id,
    hostId: row.host_id,
    gpuId: row.gpu_id,
    epoch: row.epoch,
    publicKey: row.public_key,
    startedAt: row.started_at.getTime(),
    endedAt: row.ended_at?.getTime() ?? null,
    proofIntervalMs: row.proof_interval_ms,
    period: row.period,
    challengeSeed: row.challenge_seed,
    previousChallenge:
      row.prev_period === null || row.prev_challenge_seed === null ? null : { period: row.prev_period, seed: row.prev_challenge_seed },
    tip:
      row.tip_seq === null || row.tip_hash === null || row.tip_at === null
        ? null
        : { seq: row.tip_seq, hash: row.tip_hash, at: row.tip_at.getTime(), containerState: (row.tip_state ?? 'missing') as ContainerState },
    firstReceiptAt: row.first_receipt_at?.getTime() ?? null,
    payableMs: Number(row.payable_ms),
    rejectedStreak: row.rejected_streak,
    now,
  };
}

export interface ChainAdvance {
  standing: ChainStanding;
  accepted: { receipt: ProofReceipt; payableMs: number }[];
  rejectedCount: number;
}

/** The accepted receipts' rows and the chain's move: tip, watched times, payable and verified time, rejection streak and count. */
function chainMove({ standing, accepted, rejectedCount }: ChainAdvance) {
  const arrivedAt = new Date(standing.now);
  const last = accepted[accepted.length - 1]?.receipt;
  const payableMs = standing.payableMs + accepted.reduce((sum, a) => sum + a.payableMs, 0);
  const rejectedStreak = rejectedCount > 0 ? standing.rejectedStreak + 1 : accepted.length > 0 ? 0 : standing.rejectedStreak;
  const receipts = accepted.map(({ receipt, payableMs: receiptPayableMs }) => ({
    assignment_id: standing.assignmentId,
    seq: receipt.body.seq,
    lease_id: standing.leaseId,
    epoch: receipt.body.epoch,
    host_id: standing.hostId,
    gpu_id: standing.gpuId,
    period: receipt.body.period,
    at: new Date(receipt.body.at),
    hash: receipt.hash,
    prev_hash: receipt.body.prevHash,
    signature: receipt.signature,
    payable_ms: receiptPayableMs,
    body: receipt.body,
    received_at: arrivedAt,
  }));
  const move = {
    rejected_streak: rejectedStreak,
    rejected_receipts: sql<number>`rejected_receipts + ${rejectedCount}`,
    ...(last
      ? {
          tip_seq: last.body.seq,
          tip_hash: last.hash,
          tip_at: new Date(last.body.at),
          tip_state: last.body.containerState,
          first_receipt_at: new Date(standing.firstReceiptAt ?? standing.now),
          last_receipt_at: arrivedAt,
          payable_ms: payableMs,
          verified_seconds: Math.floor(payableMs / 1000),
        }
      : {}),
  };
  return { receipts, move, rejectedStreak };
}

type ReceiptRow = ReturnType<typeof chainMove>['receipts'][number];
const RECEIPT_COLUMNS = [
  'assignment_id', 'seq', 'lease_id', 'epoch', 'host_id', 'gpu_id', 'period', 'at', 'hash', 'prev_hash', 'signature', 'payable_ms', 'body', 'received_at',
] as const satisfies readonly (keyof ReceiptRow)[];

/** Stores the accepted receipts and moves the chain, in the transaction that holds the chain's lock (`lockChain`). */
export async function advanceChain(trx: Transaction<Database>, advance: ChainAdvance): Promise<{ rejectedStreak: number }> {
  const { receipts, move, rejectedStreak } = chainMove(advance);
  const rows = receipts.map((row) => ({ ...row, body: JSON.stringify(row.body) }));
  if (rows.length > 0) {
    // The receipts and the chain's move in one statement (a data-modifying CTE): one round trip.
    await trx
      .with('stored', (qb) => qb.insertInto('proof_receipts').values(rows))
      .updateTable('assignments')
      .set(move)
      .where('id', '=', advance.standing.assignmentId)
      .execute();
  } else {
    await trx.updateTable('assignments').set(move).where('id', '=', advance.standing.assignmentId).execute();
  }
  return { rejectedStreak };
}

/**
 * The routine report's write, without a transaction or a lock: the accepted receipts and the chain's move
 * in one statement, made only if the chain is still as `standing` (read unlocked by `recordHostReport`)
 * found it: not ended, the same period and challenge, the same tip and rejection streak. The update
 * re-checks that on the row's latest version, so a concurrent report, period close or end makes it a
 * no-op, receipts included; false then, and the caller verifies again under the lock. Only for a batch
 * with every receipt accepted: a rejection may mark the host unhealthy, which the locked path does.
 */
export async function advanceUnmovedChain(db: Kysely<Database>, advance: ChainAdvance & { rejectedCount: 0 }): Promise<boolean> {
  const { standing } = advance;
  const { receipts, move } = chainMove(advance);
  if (receipts.length === 0) throw new Error('advanceUnmovedChain stores accepted receipts: none were given');
  const columns = sql.join(RECEIPT_COLUMNS.map((c) => sql.ref(c)));
  const fromJson = sql.join(RECEIPT_COLUMNS.map((c) => sql.ref(`r.${c}`)));
  const moved = await db
    .with('moved', (qb) =>
      qb
        .updateTable('assignments')
        .set(move)
        .where('id', '=', standing.assignmentId)
        .where('ended_at', 'is', null)
        .where('period', '=', standing.period)
        .where('challenge_seed', '=', standing.challengeSeed)
        .where('rejected_streak', '=', standing.rejectedStreak)
        .where(standing.tip === null ? sql<boolean>`tip_seq is null` : sql<boolean>`tip_seq = ${standing.tip.seq} and tip_hash = ${standing.tip.hash}`)
        .returning('id'))
    // Typed by the table's own row type, so timestamps and jsonb arrive as such; inserted only when the chain moved.
    // (kysely leaves a raw CTE's body as written: the parentheses are ours.)
    .with('stored', () => sql`(insert into proof_receipts (${columns})
      select ${fromJson} from moved, json_populate_recordset(null::proof_receipts, ${JSON.stringify(receipts)}) as r)`)
    .selectFrom('moved')
    .select('id')
    .execute();
  return moved.length === 1;
}

export async function chainTipsOf(
  db: Kysely<Database>,
  hostId: string,
  assignmentIds: string[],
): Promise<{ assignmentId: string; seq: number; hash: string }[]> {
  if (assignmentIds.length === 0) return [];
  const rows = await db
    .selectFrom('assignments')
    .select(['id', 'tip_seq', 'tip_hash'])
    .where('host_id', '=', hostId)
    .where('id', 'in', assignmentIds)
    .where('tip_seq', 'is not', null)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ assignmentId: row.id, seq: row.tip_seq as number, hash: row.tip_hash as string }));
}
