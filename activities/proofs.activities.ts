/**
 * Proof receipts (DESIGN §3): the control plane checks what hosts signed and records only what holds,
 * so that "no second is paid without a valid receipt" and "no period is paid twice" hold in the
 * database whatever retries happen.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { ChainTip, ContainerState, ProofReceipt } from '../domain/proof-receipt';
import { payableSecondsOf, verifyReceiptBatch } from '../domain/proof-receipt';
import type { Database } from '../infra/db/schema';
import type { AssignmentReceipts, AssignmentVerification, ControlActivities, VerifyPeriodInput } from './contracts';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
  /** Share of challenge answers recomputed (the last receipt of a batch always is). Default 0.25. */
  challengeSampleRate?: number;
}

export type ProofActivities = Pick<ControlActivities, 'verifyPeriodReceipts'>;

/** Host clocks may run ahead of ours by this much before a receipt counts as dated in the future. */
export const MAX_CLOCK_SKEW_MS = 5_000;
const DEFAULT_SAMPLE_RATE = 0.25;

const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const seqOf = (receipt: ProofReceipt): unknown => (receipt as { body?: { seq?: unknown } } | null)?.body?.seq;

interface Counted {
  seq: number;
  payableMs: number;
}

export function createProofActivities({ db, log, challengeSampleRate = DEFAULT_SAMPLE_RATE }: Deps): ProofActivities {
  /** Where the batch continues: the last recorded receipt before it, so a retried batch verifies as it did the first time. */
  async function tipBefore(trx: Transaction<Database>, assignmentId: string, firstSeq: number | null): Promise<ChainTip | null> {
    let query = trx
      .selectFrom('proof_receipts')
      .select(['seq', 'hash', 'at', sql<ContainerState>`body->>'containerState'`.as('container_state')])
      .where('assignment_id', '=', assignmentId);
    if (firstSeq !== null) query = query.where('seq', '<', firstSeq);
    const row = await query.orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? { seq: row.seq, hash: row.hash, at: row.at.getTime(), containerState: row.container_state } : null;
  }

  async function verifyAssignment(input: VerifyPeriodInput, batch: AssignmentReceipts): Promise<AssignmentVerification> {
    return db.transaction().execute(async (trx) => {
      // Locking the assignment serialises verifications of it (a retry racing its first attempt).
      const assignment = await trx
        .selectFrom('assignments')
        .innerJoin('hosts', 'hosts.id', 'assignments.host_id')
        .select(['assignments.lease_id', 'assignments.epoch', 'assignments.host_id', 'assignments.gpu_id', 'assignments.ended_at', 'hosts.public_key'])
        .where('assignments.id', '=', batch.assignmentId)
        .forUpdate(['assignments'])
        .executeTakeFirst();
      if (!assignment || assignment.lease_id !== input.leaseId) {
        throw ApplicationFailure.nonRetryable(`lease ${input.leaseId} has no assignment ${batch.assignmentId}`, 'AssignmentNotFound');
      }
      if (assignment.epoch !== batch.epoch || assignment.host_id !== batch.hostId || assignment.gpu_id !== batch.gpuId) {
        // The recorded assignment is the authority: receipts are checked against it, not against the request.
        log?.warn({ assignmentId: batch.assignmentId, recorded: assignment, requested: batch }, 'verification request disagrees with the assignment record');
      }

      const rejected: { seq: number; reason: string }[] = [];
      // Work after the assignment ended (its host was replaced, the lease closed) is not paid.
      const endedAt = assignment.ended_at?.getTime() ?? null;
      const receipts = (Array.isArray(batch.receipts) ? batch.receipts : []).filter((receipt) => {
        const at = (receipt as { body?: { at?: unknown } } | null)?.body?.at;
        if (endedAt === null || typeof at !== 'number' || at <= endedAt + MAX_CLOCK_SKEW_MS) return true;
        const seq = seqOf(receipt);
        rejected.push({ seq: isSeq(seq) ? seq : -1, reason: `seq ${String(seq)}: signed after the assignment ended` });
        return false;
      });
      const seqs = receipts.map(seqOf).filter(isSeq);
      const firstSeq = seqs.length > 0 ? Math.min(...seqs) : null;
      const lastSeq = seqs.length > 0 ? Math.max(...seqs) : null;
      const tip = await tipBefore(trx, batch.assignmentId, firstSeq);

      const result = verifyReceiptBatch(receipts, {
        publicKey: assignment.public_key,
        leaseId: input.leaseId,
        assignmentId: batch.assignmentId,
        epoch: assignment.epoch,
        hostId: assignment.host_id,
        gpuId: assignment.gpu_id,
        tip,
        challengeSeed: input.challengeSeed,
        period: input.period,
        proofIntervalMs: input.proofIntervalMs,
        now: Date.now(),
        maxClockSkewMs: MAX_CLOCK_SKEW_MS,
        sample: (seq) => seq === lastSeq || Math.random() < challengeSampleRate,
      });
      rejected.push(...result.rejected);

      const recorded = new Map<number, { hash: string; payable_ms: number }>();
      if (result.accepted.length > 0) {
        const rows = await trx
          .selectFrom('proof_receipts')
          .select(['seq', 'hash', 'payable_ms'])
          .where('assignment_id', '=', batch.assignmentId)
          .where('seq', 'in', result.accepted.map(({ receipt }) => receipt.body.seq))
          .execute();
        for (const row of rows) recorded.set(row.seq, row);
      }

      // A receipt recorded by an earlier attempt counts once, as recorded; one that contradicts the
      // record (a host that re-signed the same seq differently) breaks the chain like any invalid one.
      const counted: Counted[] = [];
      const fresh: typeof result.accepted = [];
      let newTip = tip;
      for (const [index, { receipt, payableMs }] of result.accepted.entries()) {
        const seq = receipt.body.seq;
        const previous = recorded.get(seq);
        if (previous && previous.hash !== receipt.hash) {
          for (const later of result.accepted.slice(index)) {
            rejected.push({ seq: later.receipt.body.seq, reason: `seq ${later.receipt.body.seq}: contradicts the receipt recorded for seq ${seq}` });
          }
          break;
        }
        if (previous) counted.push({ seq, payableMs: previous.payable_ms });
        else {
          fresh.push({ receipt, payableMs });
          counted.push({ seq, payableMs });
        }
        newTip = { seq, hash: receipt.hash, at: receipt.body.at, containerState: receipt.body.containerState };
      }

      if (fresh.length > 0) {
        await trx
          .insertInto('proof_receipts')
          .values(
            fresh.map(({ receipt, payableMs }) => ({
              assignment_id: batch.assignmentId,
              seq: receipt.body.seq,
              lease_id: input.leaseId,
              epoch: receipt.body.epoch,
              host_id: receipt.body.hostId,
              gpu_id: receipt.body.gpuId,
              period: receipt.body.period,
              at: new Date(receipt.body.at),
              hash: receipt.hash,
              prev_hash: receipt.body.prevHash,
              signature: receipt.signature,
              payable_ms: payableMs,
              body: JSON.stringify(receipt.body),
            })),
          )
          .onConflict((oc) => oc.columns(['assignment_id', 'seq']).doNothing())
          .execute();
      }

      // Recomputed from the table, never incremented: whatever was retried, each receipt counts once.
      const { total } = await trx
        .selectFrom('proof_receipts')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('payable_ms'), sql<string>`0`).as('total'))
        .where('assignment_id', '=', batch.assignmentId)
        .executeTakeFirstOrThrow();
      const verifiedSeconds = payableSecondsOf(Number(total));
      await trx.updateTable('assignments').set({ verified_seconds: verifiedSeconds }).where('id', '=', batch.assignmentId).execute();

      const payableMs = counted.reduce((sum, c) => sum + c.payableMs, 0);
      if (rejected.length > 0) {
        log?.warn({ leaseId: input.leaseId, assignmentId: batch.assignmentId, period: input.period, rejected }, 'proof receipts rejected');
      }
      return { assignmentId: batch.assignmentId, payableMs, verifiedSeconds, accepted: counted.length, rejected, tip: newTip };
    });
  }

  async function verifyPeriodReceipts(input: VerifyPeriodInput): Promise<AssignmentVerification[]> {
    const verifications: AssignmentVerification[] = [];
    // One transaction per assignment: one host's bad batch never holds up the others' records.
    for (const batch of input.assignments) verifications.push(await verifyAssignment(input, batch));
    return verifications;
  }

  return { verifyPeriodReceipts };
}
