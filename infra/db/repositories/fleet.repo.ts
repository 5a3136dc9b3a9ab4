/**
 * The fleet as the monitor judges it from the hosts' reports (DESIGN §2.5): hosts silent past the
 * heartbeat timeout are lost, and every running assignment that has a fault (its host lost or
 * unhealthy, its container ended) is claimed for signalling: one monitor claims it, and it is claimed
 * again only if the fault outlives the re-signal interval (a signal lost to a crash costs seconds).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema';
import { recordHostEvent } from './host-events.repo';

export async function markSilentHostsLost(db: Kysely<Database>, timeoutSeconds: number): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const lost = await trx
      .updateTable('hosts')
      .set({ status: 'lost' })
      .where('status', '=', 'online')
      .where('last_heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${timeoutSeconds})`)
      .returning('id')
      .execute();
    for (const { id } of lost) {
      await recordHostEvent(trx, { hostId: id, kind: 'lost', detail: `no report for more than ${timeoutSeconds} s` });
    }
    return lost.map((row) => row.id);
  });
}

export type FaultKind = 'host_lost' | 'host_unhealthy' | 'container_exited';

export interface ClaimedFault {
  leaseId: string;
  assignmentId: string;
  epoch: number;
  kind: FaultKind;
  detail: string;
}

export async function claimFaults(db: Kysely<Database>, resignalSeconds: number): Promise<ClaimedFault[]> {
  const candidates = await db
    .selectFrom('assignments')
    .innerJoin('hosts', 'hosts.id', 'assignments.host_id')
    .select([
      'assignments.id', 'assignments.lease_id', 'assignments.epoch', 'assignments.host_id', 'assignments.reported_state',
      'assignments.reported_exit_code', 'hosts.status',
      sql<boolean>`coalesce(hosts.unhealthy_until > now(), false)`.as('unhealthy'),
    ])
    .where('assignments.ended_at', 'is', null)
    // Still dispatching: the dispatch itself waits for it and replaces a host that does not start it.
    .where('assignments.running_at', 'is not', null)
    .where((eb) =>
      eb.or([eb('assignments.fault_signalled_at', 'is', null), eb('assignments.fault_signalled_at', '<', sql<Date>`now() - make_interval(secs => ${resignalSeconds})`)]),
    )
    .where((eb) =>
      eb.or([
        eb('hosts.status', '=', 'lost'),
        eb('hosts.unhealthy_until', '>', sql<Date>`now()`),
        eb('assignments.reported_state', 'in', ['exited', 'missing']),
      ]),
    )
    .orderBy('assignments.id')
    .limit(500)
    .execute();

  const claimed: ClaimedFault[] = [];
  for (const row of candidates) {
    const fault: ClaimedFault =
      row.status === 'lost'
        ? { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'host_lost', detail: `host ${row.host_id} stopped reporting` }
        : row.unhealthy
          ? { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'host_unhealthy', detail: `host ${row.host_id} is unhealthy` }
          : row.reported_state === 'missing'
            ? { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'host_unhealthy', detail: `host ${row.host_id} lost the container` }
            : { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'container_exited', detail: `container exited with code ${row.reported_exit_code ?? 'unknown'}` };
    // Claimed by whoever updates it first: two monitors never both signal one fault in one interval.
    const won = await db
      .updateTable('assignments')
      .set({ fault: fault.kind, fault_signalled_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .where('ended_at', 'is', null)
      .where((eb) =>
        eb.or([eb('fault_signalled_at', 'is', null), eb('fault_signalled_at', '<', sql<Date>`now() - make_interval(secs => ${resignalSeconds})`)]),
      )
      .executeTakeFirst();
    if (Number(won.numUpdatedRows) > 0) claimed.push(fault);
  }
  return claimed;
}
