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
  // One snapshot: the version and the assignments it describes.
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const host = await trx.selectFrom('hosts').select('desired_version').where('id', '=', hostId).executeTakeFirst();
    if (!host) return undefined;
    const rows = await trx
      .selectFrom('assignments')
      .select([
        'id', 'lease_id', 'epoch', 'gpu_id', 'rank', 'container', 'desired_state', 'ended_at', 'proof_interval_ms',
        'period', 'challenge_seed', 'tip_seq', 'tip_hash', 'tip_at',
      ])
      .where('host_id', '=', hostId)
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', sql<Date>`now() - ${STOP_VISIBLE_FOR}::interval`)]))
      .orderBy('lease_id')
      .orderBy('rank')
      .orderBy('epoch')
      .execute();
    return {
      version: Number(host.desired_version),
      assignments: rows.flatMap((row): DesiredAssignment[] => {
        const container = row.container as AssignmentContainer | null;
        // Assignments recorded before the host protocol have no container to describe.
        if (container === null) return [];
        return [{
          assignmentId: row.id,
          leaseId: row.lease_id,
          epoch: row.epoch,
          gpuId: row.gpu_id,
          rank: row.rank,
          worldSize: container.worldSize,
          headHost: container.headHost,
          image: container.image,
          command: container.command ?? null,
          env: container.env ?? {},
          state: row.ended_at === null ? row.desired_state : 'stop',
          proofIntervalMs: row.proof_interval_ms,
          period: row.period,
          challengeSeed: row.challenge_seed,
          chainTip:
            row.tip_seq === null || row.tip_hash === null || row.tip_at === null
              ? null
              : { seq: row.tip_seq, hash: row.tip_hash, at: row.tip_at.getTime() },
        }];
      }),
    };
  });
}
