/**
 * The fleet as the monitor judges it from the hosts' reports (DESIGN §2.5): hosts silent past the
 * heartbeat timeout are lost, and every running assignment that has a fault (its host lost or
 * unhealthy, its container ended, no receipt accepted for too long) is claimed for signalling: one monitor claims it, and it is claimed
 * again only if the fault outlives the re-signal interval (a signal lost to a crash costs seconds).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { FleetProofCount, FleetSilenceCount, ProviderLateness } from '../../../domain/fleet-silence';
import type { Database } from '../schema';
import { markHostUnhealthy } from './host-events.repo';

/** How long a host that proved nothing stays out of placement (as one that left a dispatch unstarted). */
const UNHEALTHY_SECONDS = 600;

/** What both fleet counts read: per provider, its total and its late, only for providers with one late. */
interface ByProviderRow {
  by_provider: { total: number | string; late: number | string }[] | null;
}
const byProviderOf = (row: ByProviderRow): ProviderLateness[] =>
  (row.by_provider ?? []).map((p) => ({ total: Number(p.total), late: Number(p.late) }));

/**
 * How silent the recent fleet (hosts heard from in the last hour, online or lost since) is now, in one
 * statement: how many hosts, how many silent past the timeout, the median silence in seconds, and each
 * provider's part of the silence (only providers with a silent host: the rule needs no others).
 */
export async function fleetSilence(db: Kysely<Database>, timeoutSeconds: number): Promise<FleetSilenceCount> {
  const { rows } = await sql<{ hosts: string; silent: string; median: number | null } & ByProviderRow>`
    with recent as (
      select provider_id, extract(epoch from now() - last_heartbeat_at) as silence,
             last_heartbeat_at < now() - make_interval(secs => ${timeoutSeconds}) as late
        from hosts
       where status in ('online', 'lost') and last_heartbeat_at > now() - interval '1 hour'
    ), per_provider as (
      select count(*) as total, count(*) filter (where late) as late from recent group by provider_id having bool_or(late)
    )
    select count(*) as hosts, count(*) filter (where late) as silent,
           -- The median host's own silence (percentile_disc: the lower of two middles, never a mean), so one dead
           -- host of two does not make the live one's silence look longer.
           percentile_disc(0.5) within group (order by silence) as median,
           (select json_agg(per_provider) from per_provider) as by_provider
      from recent`.execute(db);
  const row = rows[0]!;
  return { hosts: Number(row.hosts), silent: Number(row.silent), medianSilenceSeconds: Number(row.median ?? 0), byProvider: byProviderOf(row) };
}

/**
 * The running assignments' receipts (domain/fleet-silence FleetProofCount): how many run, how many have their next
 * receipt overdue past `timeoutSeconds`, the median one's lateness, and each provider's part of the overdue ones.
 * Due is as claimFaults has it: an interval after the last accepted receipt, or after the container ran.
 */
export async function fleetProofs(db: Kysely<Database>, timeoutSeconds: number): Promise<FleetProofCount> {
  const { rows } = await sql<{ running: string; unproven: string; median: number | null } & ByProviderRow>`
    with running as (
      select provider_id,
             extract(epoch from now() - (coalesce(last_receipt_at, running_at) + proof_interval_ms * interval '1 millisecond')) as lateness
        from assignments
       where ended_at is null and running_at is not null
    ), per_provider as (
      select count(*) as total, count(*) filter (where lateness > ${timeoutSeconds}) as late
        from running group by provider_id having bool_or(lateness > ${timeoutSeconds})
    )
    select count(*) as running, count(*) filter (where lateness > ${timeoutSeconds}) as unproven,
           percentile_disc(0.5) within group (order by greatest(lateness, 0)) as median,
           (select json_agg(per_provider) from per_provider) as by_provider
      from running`.execute(db);
  const row = rows[0]!;
  return { running: Number(row.running), unproven: Number(row.unproven), medianLatenessSeconds: Number(row.median ?? 0), byProvider: byProviderOf(row) };
}

const MASS_SILENCE_HOLD = 'mass_silence';

/** Holds judgement of hosts by their silence until `seconds` from now (never shortens a longer hold). */
export async function holdFleetJudgement(db: Kysely<Database>, seconds: number): Promise<void> {
  await db
    .insertInto('fleet_hold')
    .values({ id: MASS_SILENCE_HOLD, held_until: sql<Date>`now() + make_interval(secs => ${seconds})` })
    .onConflict((oc) => oc.column('id').doUpdateSet({ held_until: sql<Date>`greatest(fleet_hold.held_until, excluded.held_until)` }))
    .execute();
}

/** Seconds left of the hold (0 when none). */
export async function fleetHoldLeftSeconds(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('fleet_hold')
    .select(sql<number>`greatest(extract(epoch from held_until - now()), 0)`.as('left'))
    .where('id', '=', MASS_SILENCE_HOLD)
    .executeTakeFirst();
  return Number(row?.left ?? 0);
}

export async function markSilentHostsLost(db: Kysely<Database>, timeoutSeconds: number): Promise<string[]> {
  // One statement (the monitor runs it every tick, nearly always finding no one): the hosts marked lost and
  // their host events together, atomically.
  const rows = await db
    .with('lost', (q) => q
      .updateTable('hosts')
      .set({ status: 'lost' })
      .where('status', '=', 'online')
      .where('last_heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${timeoutSeconds})`)
      .returning('id'))
    .with('recorded', (q) => q
      .insertInto('host_events')
      .columns(['host_id', 'kind', 'detail'])
      .expression((eb) => eb.selectFrom('lost').select(['lost.id', sql.lit('lost').as('kind'), sql.val(`no report for more than ${timeoutSeconds} s`).as('detail')])))
    .selectFrom('lost')
    .select('id')
    .execute();
  return rows.map((row) => row.id);
}

export type FaultKind = 'host_lost' | 'host_unhealthy' | 'container_exited';

export interface ClaimedFault {
  leaseId: string;
  assignmentId: string;
  epoch: number;
  kind: FaultKind;
  detail: string;
}

/**
 * `proofTimeoutSeconds`: a container reported running with no accepted receipt for this long past the
 * proof interval (when its next receipt was due) is a fault of its host: it may say "running" and prove
 * nothing; it is never paid, but it must not hold the customer's rank either. The interval is added
 * because an honest receipt is signed up to one interval after the last and travels in the next report:
 * with 5 s proofs and a 10 s timeout, judging at 10 s left 2 s for the report and the API's own queue,
 * and 1 in 4 leases of a 300-lease start failed over from hosts that had done nothing wrong.
 * Null while that cannot be judged (the API was not up long enough to hear).
 */
export async function claimFaults(db: Kysely<Database>, resignalSeconds: number, proofTimeoutSeconds: number | null): Promise<ClaimedFault[]> {
  // An age no receipt can reach stands for "not judged": the query keeps one shape.
  const proofTimeout = proofTimeoutSeconds ?? 1e9;
  // When the next receipt was due: an interval after the last accepted one (or after the container ran).
  const unprovenSince = sql<Date>`coalesce(assignments.last_receipt_at, assignments.running_at) + assignments.proof_interval_ms * interval '1 millisecond'`;
  const candidates = await db
    .selectFrom('assignments')
    .innerJoin('hosts', 'hosts.id', 'assignments.host_id')
    .select([
      'assignments.id', 'assignments.lease_id', 'assignments.epoch', 'assignments.host_id', 'assignments.reported_state',
      'assignments.reported_exit_code', 'hosts.status',
      sql<boolean>`coalesce(hosts.unhealthy_until > now(), false)`.as('unhealthy'),
      'assignments.proof_interval_ms',
      sql<boolean>`${unprovenSince} < now() - make_interval(secs => ${proofTimeout})`.as('unproven'),
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
        eb(unprovenSince, '<', sql<Date>`now() - make_interval(secs => ${proofTimeout})`),
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
            : row.reported_state === 'exited'
              ? { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'container_exited', detail: `container exited with code ${row.reported_exit_code ?? 'unknown'}` }
              : { leaseId: row.lease_id, assignmentId: row.id, epoch: row.epoch, kind: 'host_unhealthy', detail: `host ${row.host_id} proved nothing for ${(proofTimeoutSeconds ?? 0) + row.proof_interval_ms / 1000} s` };
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
    if (Number(won.numUpdatedRows) === 0) continue;
    claimed.push(fault);
    if (row.status !== 'lost' && !row.unhealthy && row.reported_state === 'running' && row.unproven) {
      // On its record, and out of placement: its other leases' GPUs are replaced too.
      await markHostUnhealthy(db, { hostId: row.host_id, kind: 'no_proof', assignmentId: row.id, detail: fault.detail, seconds: UNHEALTHY_SECONDS });
    }
  }
  return claimed;
}
