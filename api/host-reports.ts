/**
 * A host's report (DESIGN §3): container states and proof receipts, verified on arrival. Each
 * assignment's receipts are checked against its chain as the report's first statement read it, and
 * stored by a statement that only applies while the chain is still there; whatever moved it meanwhile
 * (another report, a period's close, the end) sends the batch to be checked again under the row's lock.
 * So a report retried, replayed or raced by another changes nothing twice; only accepted receipts move
 * the tip, and paid time never exceeds what the engine watched pass.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ChainTip, ProofReceipt } from '../domain/proof-receipt';
import { verifyReceiptBatch } from '../domain/proof-receipt';
import { nativeEd25519 } from '../infra/crypto/native-ed25519';
import type { Database } from '../infra/db/schema';
import { markHostUnhealthy } from '../infra/db/repositories/host-events.repo';
import type { ContainerReport } from '../infra/db/repositories/host-reports.repo';
import type { ChainStanding } from '../infra/db/repositories/host-reports.repo';
import { advanceChain, advanceUnmovedChain, chainTipsOf, lockChain, recordContainerStates, recordHostReport } from '../infra/db/repositories/host-reports.repo';

export interface HostReport {
  containers: ContainerReport[];
  receipts: ProofReceipt[];
}

export interface ReportAnswer {
  accepted: number;
  rejected: { assignmentId: string; seq: number; reason: string }[];
  tips: { assignmentId: string; seq: number; hash: string }[];
}

export interface ReportPolicy {
  /** Host clocks may be this far off ours, either way. */
  maxClockSkewMs: number;
  /** Share of challenge answers recomputed; a wrong one breaks the chain. */
  challengeSampleRate: number;
  /** Reports in a row with a rejected receipt after which the host is unhealthy and its GPUs replaced. */
  rejectionLimit: number;
  /** How long an unhealthy host stays out of placement. */
  unhealthySeconds: number;
}

export const DEFAULT_REPORT_POLICY: ReportPolicy = {
  maxClockSkewMs: 5_000,
  challengeSampleRate: 0.25,
  rejectionLimit: 3,
  unhealthySeconds: 600,
};

export async function acceptReport(
  db: Kysely<Database>,
  hostId: string,
  report: HostReport,
  policy: ReportPolicy = DEFAULT_REPORT_POLICY,
  log?: Logger,
): Promise<ReportAnswer> {
  const live = await recordHostReport(db, hostId);
  await recordContainerStates(db, hostId, report.containers, live);

  const byAssignment = new Map<string, ProofReceipt[]>();
  for (const receipt of report.receipts) {
    const list = byAssignment.get(receipt.body.assignmentId) ?? [];
    list.push(receipt);
    byAssignment.set(receipt.body.assignmentId, list);
  }

  const answer: ReportAnswer = { accepted: 0, rejected: [], tips: [] };
  // Where each chain the report mentions stands: after its receipts were verified, or as the report found it.
  const tips = new Map<string, { seq: number; hash: string } | null>(
    live.map((a) => [a.id, a.standing.tip && { seq: a.standing.tip.seq, hash: a.standing.tip.hash }]),
  );
  const unknown = new Set<string>();
  const standings = new Map(live.map((a) => [a.id, a.standing]));
  for (const [assignmentId, receipts] of byAssignment) {
    // One draw per receipt: verified again under the lock, a receipt found wrong must not get a second chance.
    const sample = sampleOnce(policy.challengeSampleRate);
    const outcome =
      (await advanceRoutineChain(db, standings.get(assignmentId), receipts, policy, sample)) ??
      (await verifyChain(db, hostId, assignmentId, receipts, policy, sample));
    answer.accepted += outcome.accepted;
    answer.rejected.push(...outcome.rejected.map((r) => ({ assignmentId, ...r })));
    if (outcome.tip === undefined) unknown.add(assignmentId);
    else tips.set(assignmentId, outcome.tip && { seq: outcome.tip.seq, hash: outcome.tip.hash });
    if (outcome.unhealthy) {
      log?.warn({ hostId, assignmentId, rejectedCount: outcome.rejected.length, rejected: outcome.rejected.slice(0, 5) }, 'host marked unhealthy: receipts rejected');
    }
  }
  if (answer.rejected.length > 0) log?.info({ hostId, rejected: answer.rejected.slice(0, 5) }, 'receipts rejected');

  const mentioned = new Set([...byAssignment.keys(), ...report.containers.map((c) => c.assignmentId)]);
  for (const assignmentId of mentioned) if (!tips.has(assignmentId)) unknown.add(assignmentId);
  // Ended assignments (and others' ids) were not among the live ones: read those, as before, by host.
  const read = await chainTipsOf(db, hostId, [...unknown]);
  for (const assignmentId of unknown) tips.delete(assignmentId);
  for (const tip of read) tips.set(tip.assignmentId, tip);
  answer.tips = [...mentioned]
    .flatMap((assignmentId) => {
      const tip = tips.get(assignmentId);
      return tip ? [{ assignmentId, seq: tip.seq, hash: tip.hash }] : [];
    })
    .sort((a, b) => (a.assignmentId < b.assignmentId ? -1 : a.assignmentId > b.assignmentId ? 1 : 0));
  return answer;
}

interface ChainOutcome {
  accepted: number;
  rejected: { seq: number; reason: string }[];
  unhealthy: boolean;
  /** Where the chain stands after this batch (null: no receipt yet); undefined when it is not the host's live chain. */
  tip: ChainTip | null | undefined;
}

export type Sample = (seq: number) => boolean;

/** Whether to recompute a receipt's challenge answer: drawn once per seq, then the same answer every time it is asked. */
function sampleOnce(rate: number): Sample {
  const drawn = new Map<number, boolean>();
  return (seq) => {
    let sampled = drawn.get(seq);
    if (sampled === undefined) drawn.set(seq, (sampled = Math.random() < rate));
    return sampled;
  };
}

/** Verifies `receipts` against the chain as `standing` holds it (exported for the tests of the unlocked write). */
export function verifyAgainst(standing: ChainStanding, receipts: ProofReceipt[], policy: ReportPolicy, sample: Sample) {
  return verifyReceiptBatch(receipts, {
    publicKey: standing.publicKey,
    leaseId: standing.leaseId,
    assignmentId: standing.assignmentId,
    epoch: standing.epoch,
    hostId: standing.hostId,
    gpuId: standing.gpuId,
    tip: standing.tip,
    challengeSeed: standing.challengeSeed,
    period: standing.period,
    previousChallenge: standing.previousChallenge,
    proofIntervalMs: standing.proofIntervalMs,
    now: standing.now,
    maxClockSkewMs: policy.maxClockSkewMs,
    notBefore: standing.startedAt,
    watched: { firstArrivalAt: standing.firstReceiptAt, payableMsSoFar: standing.payableMs },
    sample,
    signatures: nativeEd25519,
  });
}

/**
 * The routine case in two round trips for the whole report, not five per chain: the chain as the report's
 * first statement read it (unlocked), every receipt accepted, stored if the chain has not moved since.
 * Undefined when that does not hold (a rejection, a concurrent report, a period closed meanwhile, a chain
 * not among the host's live ones): the locked path then verifies the batch again from scratch.
 */
async function advanceRoutineChain(
  db: Kysely<Database>,
  standing: ChainStanding | undefined,
  receipts: ProofReceipt[],
  policy: ReportPolicy,
  sample: Sample,
): Promise<ChainOutcome | undefined> {
  if (!standing) return undefined;
  const result = verifyAgainst(standing, receipts, policy, sample);
  if (result.rejected.length > 0 || result.accepted.length === 0) return undefined;
  if (!(await advanceUnmovedChain(db, { standing, accepted: result.accepted, rejectedCount: 0 }))) return undefined;
  return { accepted: result.accepted.length, rejected: [], unhealthy: false, tip: result.tip };
}

async function verifyChain(
  db: Kysely<Database>,
  hostId: string,
  assignmentId: string,
  receipts: ProofReceipt[],
  policy: ReportPolicy,
  sample: Sample,
): Promise<ChainOutcome> {
  // Not this host's live chain: its tip is not ours to tell from here (undefined: read apart).
  const refuseAll = (reason: string): ChainOutcome => ({
    accepted: 0,
    rejected: receipts.map((r) => ({ seq: r.body.seq, reason: `seq ${r.body.seq}: ${reason}` })),
    unhealthy: false,
    tip: undefined,
  });
  return db.transaction().execute(async (trx) => {
    const standing = await lockChain(trx, assignmentId);
    // Another host's assignment is answered like one that does not exist: nothing about it leaks.
    if (!standing || standing.hostId !== hostId) return refuseAll(`assignment ${assignmentId} is not one of host ${hostId}'s`);
    if (standing.endedAt !== null) return refuseAll('the assignment has ended: nothing after its end is paid');

    const result = verifyAgainst(standing, receipts, policy, sample);
    const { rejectedStreak } = await advanceChain(trx, { standing, accepted: result.accepted, rejectedCount: result.rejected.length });
    const unhealthy = rejectedStreak === policy.rejectionLimit;
    if (unhealthy) {
      await markHostUnhealthy(trx, {
        hostId,
        kind: 'receipts_rejected',
        assignmentId,
        detail: `${rejectedStreak} reports in a row with rejected receipts; last: ${result.rejected[0]?.reason ?? ''}`,
        seconds: policy.unhealthySeconds,
      });
    }
    return { accepted: result.accepted.length, rejected: result.rejected, unhealthy, tip: result.tip };
  });
}
