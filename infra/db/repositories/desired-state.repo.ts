/**
 * What each host must run (DESIGN §2.3): its assignments with their containers and the challenge of
 * the period, and a version that moves whenever any of it does. Every write that changes a host's
 * desired state bumps its version in the same transaction, so a long poll that saw version v and
 * reads a higher one always sees the change.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { AssignmentContainer, Database, DesiredContainerState } from '../schema';

/** Assignments ended longer ago than this are left out: their host has had time to stop them. */
const STOP_VISIBLE_FOR = '1 hour';

export interface DesiredAssignment {
  assignmentId: string;
  leaseId: string;
  epoch: number;
  gpuId: string;
  rank: number;
  worldSize: number;
  headHost: string;
  image: string;
  command: string[] | null;
  env: Record<string, string>;
  state: DesiredContainerState;
  proofIntervalMs: number;
  period: number;
  challengeSeed: string;
  /** Where the host's receipt chain continues: the last accepted receipt, null before any. */
  chainTip: { seq: number; hash: string; at: number } | null;
}

export interface DesiredState {
  version: number;
  assignments: DesiredAssignment[];
}

export async function bumpDesiredVersions(trx: Kysely<Database> | Transaction<Database>, hostIds: string[]): Promise<void> {
  const unique = [...new Set(hostIds)];
  if (unique.length === 0) return;
  await trx
    .updateTable('hosts')
    .set({ desired_version: sql<string>`desired_version + 1` })
    .where('id', 'in', unique)
    .execute();
}

export async function desiredVersions(db: Kysely<Database>, hostIds: string[]): Promise<Map<string, number>> {
  if (hostIds.length === 0) return new Map();
  // One array parameter, not one per host: the API asks this for every waiting host 20 times a second,
  // and a 1,000-value IN list cost more to build and parse than to answer.
  const rows = await db.selectFrom('hosts').select(['id', 'desired_version']).where(sql<boolean>`id = any(${hostIds}::text[])`).execute();
  return new Map(rows.map((row) => [row.id, Number(row.desired_version)]));
}

export async function desiredStateOf(db: Kysely<Database>, hostId: string): Promise<DesiredState | undefined> {
  // One statement, so one snapshot: the version and the assignments it describes (a host's long poll reads
  // this at every change of any of its assignments, and at every period's new challenge).
  const rows = await db
    .selectFrom('hosts')
    .leftJoin('assignments', (join) =>
      join
        .onRef('assignments.host_id', '=', 'hosts.id')
        .on((eb) => eb.or([eb('assignments.ended_at', 'is', null), eb('assignments.ended_at', '>', sql<Date>`now() - ${STOP_VISIBLE_FOR}::interval`)])))
    .select([
      'hosts.desired_version', 'assignments.id', 'assignments.lease_id', 'assignments.epoch', 'assignments.gpu_id', 'assignments.rank',
      'assignments.container', 'assignments.desired_state', 'assignments.ended_at', 'assignments.proof_interval_ms',
      'assignments.period', 'assignments.challenge_seed', 'assignments.tip_seq', 'assignments.tip_hash', 'assignments.tip_at',
    ])
    .where('hosts.id', '=', hostId)
    .orderBy('assignments.lease_id')
    .orderBy('assignments.rank')
    .orderBy('assignments.epoch')
    .execute();
  const host = rows[0];
  if (!host) return undefined;
  return {
    version: Number(host.desired_version),
    assignments: rows.flatMap((row): DesiredAssignment[] => {
      const container = row.container as AssignmentContainer | null;
      // No assignment (the host's row alone), or one recorded before the host protocol: nothing to describe.
      if (row.id === null || container === null) return [];
      // Joined: every column below is the assignment's own, never null once it has an id.
      const a = row as { [K in keyof typeof row]: NonNullable<(typeof row)[K]> } & { ended_at: Date | null; tip_seq: number | null; tip_hash: string | null; tip_at: Date | null };
      return [{
        assignmentId: a.id,
        leaseId: a.lease_id,
        epoch: a.epoch,
        gpuId: a.gpu_id,
        rank: a.rank,
        worldSize: container.worldSize,
        headHost: container.headHost,
        image: container.image,
        command: container.command ?? null,
        env: container.env ?? {},
        state: a.ended_at === null ? a.desired_state : 'stop',
        proofIntervalMs: a.proof_interval_ms,
        period: a.period,
        challengeSeed: a.challenge_seed,
        chainTip: a.tip_seq === null || a.tip_hash === null || a.tip_at === null ? null : { seq: a.tip_seq, hash: a.tip_hash, at: a.tip_at.getTime() },
      }];
    }),
  };
}
