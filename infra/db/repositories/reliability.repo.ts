/**
 * The evidence behind providers' reliability scores (domain/reliability.ts), gathered from the engine's
 * own records of the last EVIDENCE_WINDOW_DAYS: how its assignments ended, how much of their watched
 * time their receipts proved, how many receipts were refused, and the marks against its hosts. Two
 * aggregate queries for any number of providers; nothing here is taken from a provider's word.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { AssignmentEndReason } from '../../../domain/lease';
import type { Reliability, ReliabilityEvidence } from '../../../domain/reliability';
import { EVIDENCE_WINDOW_DAYS, NO_EVIDENCE, reliabilityOf } from '../../../domain/reliability';
import type { Database } from '../schema';
import type { HostEventKind } from './host-events.repo';

type Db = Kysely<Database> | Transaction<Database>;

/** The provider held its part until the lease ended, however its customer ended it. */
const COMPLETED: AssignmentEndReason[] = ['lease_completed', 'lease_cancelled'];
/**
 * The lease had to replace the rank because of the provider. A start the host *refused* ('start_failed'
 * without a timeout) is not counted: the customer's image may be what failed; a start it never reported
 * is (its host event says 'start_timeout').
 */
const PROVIDER_FAULTS: AssignmentEndReason[] = ['host_lost', 'host_unhealthy'];
/** Marks against a host: silent, not starting, sending refused receipts, proving nothing. A refused start is left out as above. */
const UNHEALTHY_MARKS: HostEventKind[] = ['lost', 'start_timeout', 'receipts_rejected', 'no_proof'];

const windowStart = () => sql<Date>`now() - make_interval(days => ${EVIDENCE_WINDOW_DAYS})`;

/** Evidence for each of `providerIds` (NO_EVIDENCE for one without a record). */
export async function reliabilityEvidenceOf(db: Db, providerIds: readonly string[]): Promise<Map<string, ReliabilityEvidence>> {
  const evidence = new Map<string, ReliabilityEvidence>(providerIds.map((id) => [id, { ...NO_EVIDENCE }]));
  if (providerIds.length === 0) return evidence;
  const ids = [...evidence.keys()];

  const assignments = await db
    .selectFrom('assignments as a')
    .select((eb) => [
      'a.provider_id as providerId',
      eb.fn.count<string>('a.id').filterWhere('a.end_reason', 'in', COMPLETED).as('completed'),
      eb.fn
        .count<string>('a.id')
        .filterWhere((f) =>
          f.or([
            f('a.end_reason', 'in', PROVIDER_FAULTS),
            f.and([
              f('a.end_reason', '=', 'start_failed' satisfies AssignmentEndReason),
              f.exists(
                f.selectFrom('host_events as e').select('e.id').whereRef('e.assignment_id', '=', 'a.id').where('e.kind', '=', 'start_timeout' satisfies HostEventKind),
              ),
            ]),
          ]),
        )
        .as('failovers'),
      // Seqs are consecutive from 0 and only accepted receipts move the tip: tip_seq + 1 receipts were accepted.
      sql<string>`coalesce(sum(a.tip_seq + 1), 0)`.as('accepted'),
      sql<string>`coalesce(sum(a.rejected_receipts), 0)`.as('rejected'),
      sql<string>`coalesce(sum(extract(epoch from a.last_receipt_at - a.first_receipt_at)), 0)`.as('watched'),
      sql<string>`coalesce(sum(a.payable_ms), 0) / 1000.0`.as('proven'),
    ])
    .where('a.provider_id', 'in', ids)
    .where((eb) => eb.or([eb('a.ended_at', 'is', null), eb('a.ended_at', '>=', windowStart())]))
    .groupBy('a.provider_id')
    .execute();
  for (const row of assignments) {
    Object.assign(evidence.get(row.providerId)!, {
      leasesCompleted: Number(row.completed),
      failoversCaused: Number(row.failovers),
      receiptsAccepted: Number(row.accepted),
      receiptsRejected: Number(row.rejected),
      watchedSeconds: Number(row.watched),
      provenSeconds: Number(row.proven),
    });
  }

  const marks = await db
    .selectFrom('host_events')
    .innerJoin('hosts', 'hosts.id', 'host_events.host_id')
    .select((eb) => ['hosts.provider_id as providerId', eb.fn.countAll<string>().as('marks')])
    .where('hosts.provider_id', 'in', ids)
    .where('host_events.kind', 'in', UNHEALTHY_MARKS)
    .where('host_events.at', '>=', windowStart())
    .groupBy('hosts.provider_id')
    .execute();
  for (const row of marks) evidence.get(row.providerId)!.unhealthyMarks = Number(row.marks);
  return evidence;
}

export interface ProviderReliability extends Reliability {
  evidence: ReliabilityEvidence;
}

/** Each provider's score with the evidence it rests on. */
export async function reliabilityOfProviders(db: Db, providerIds: readonly string[]): Promise<Map<string, ProviderReliability>> {
  const evidence = await reliabilityEvidenceOf(db, providerIds);
  return new Map([...evidence].map(([id, e]) => [id, { ...reliabilityOf(e), evidence: e }]));
}
