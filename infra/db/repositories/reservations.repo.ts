/**
 * The SQL of reservations (DESIGN §2.1): which free GPUs a lease may take, in what order, and taking
 * and giving them back. The order is price first, then the provider's reliability score (evidence the
 * engine recorded, domain/reliability.ts), then tier and id: among GPUs of the same price, the provider
 * that served leases best gets the lease, and a flaky one is chosen last.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import { rankByReliability } from '../../../domain/reliability';
import type { Database } from '../schema';
import { reliabilityOfProviders } from './reliability.repo';

type Db = Kysely<Database> | Transaction<Database>;

export interface ReservationCriteria {
  gpuModel: string;
  count: number;
  /** Tier k or better (numerically ≤ k). */
  minTier: number;
  /** Token base units per GPU-hour, integer string. */
  maxPricePerGpuHour: string;
  excludeProviderIds: readonly string[];
  /** A host silent for longer is not placed on. */
  heartbeatTimeoutSeconds: number;
}

export interface ReservableGpu {
  id: string;
  host_id: string;
  provider_id: string;
  tier: number;
  model: string;
  price_per_gpu_hour: string;
}

function eligibleGpus(db: Db, criteria: ReservationCriteria) {
  let query = db
    .selectFrom('gpus')
    .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
    .where('gpus.model', '=', criteria.gpuModel)
    .where('gpus.status', '=', 'free')
    .where('gpus.tier', '<=', criteria.minTier)
    .where('gpus.price_per_gpu_hour', '<=', criteria.maxPricePerGpuHour)
    .where('hosts.status', '=', 'online')
    .where('hosts.last_heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${criteria.heartbeatTimeoutSeconds})`)
    // A host that left a dispatch unstarted or kept sending rejected receipts sits out its cool-down.
    .where((eb) => eb.or([eb('hosts.unhealthy_until', 'is', null), eb('hosts.unhealthy_until', '<', sql<Date>`now()`)]))
    // A GPU released before its old assignment was closed is not free yet for a new container.
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('assignments').select('assignments.id').whereRef('assignments.gpu_id', '=', 'gpus.id').where('assignments.ended_at', 'is', null))),
    );
  if (criteria.excludeProviderIds.length > 0) query = query.where('hosts.provider_id', 'not in', [...criteria.excludeProviderIds]);
  return query;
}

/** Provider ids most reliable first, for `array_position` to order by. */
async function rankedProviders(db: Db, providerIds: string[]): Promise<string[]> {
  const reliability = await reliabilityOfProviders(db, providerIds);
  return rankByReliability(new Map([...reliability].map(([id, r]) => [id, r.score])));
}

/** Position in `ranked` (1 = most reliable); a provider not in it sorts last. */
const reliabilityRank = (ranked: string[]) => sql<number>`array_position(${ranked}::text[], hosts.provider_id)`;

/**
 * Locks up to `count` eligible GPUs in placement order, inside `trx`. Rows another reservation is
 * deciding on are skipped rather than waited for: that reservation will either take them or let them
 * go, and we must not block behind it. Fewer than `count` rows means not enough capacity.
 */
export async function lockReservableGpus(trx: Transaction<Database>, criteria: ReservationCriteria): Promise<ReservableGpu[]> {
  const providers = await eligibleGpus(trx, criteria).select('hosts.provider_id').distinct().execute();
  if (providers.length === 0) return [];
  const ranked = await rankedProviders(trx, providers.map((p) => p.provider_id));
  return eligibleGpus(trx, criteria)
    .select(['gpus.id', 'gpus.host_id', 'hosts.provider_id', 'gpus.tier', 'gpus.model', 'gpus.price_per_gpu_hour'])
    .orderBy('gpus.price_per_gpu_hour')
    .orderBy(reliabilityRank(ranked))
    .orderBy('gpus.tier')
    .orderBy('gpus.id')
    .limit(criteria.count)
    .forUpdate(['gpus'])
    .skipLocked()
    .execute();
}

/** Marks locked GPUs reserved by `reservationId` for `leaseId`; returns how many were still free. */
export async function takeGpus(trx: Transaction<Database>, gpuIds: string[], leaseId: string, reservationId: string): Promise<number> {
  const updated = await trx
    .updateTable('gpus')
    .set({ status: 'reserved', lease_id: leaseId, reservation_id: reservationId })
    .where('id', 'in', gpuIds)
    .where('status', '=', 'free')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows);
}

/**
 * What reservation `reservationId` holds for `leaseId`, in placement order (price, reliability, tier, id):
 * the order it took them unless a score moved in between, and any order of the same GPUs is a valid rank order.
 */
export async function gpusHeldBy(db: Db, reservationId: string, leaseId: string): Promise<ReservableGpu[]> {
  const held = () =>
    db
      .selectFrom('gpus')
      .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
      .where('gpus.reservation_id', '=', reservationId)
      .where('gpus.lease_id', '=', leaseId);
  const providers = await held().select('hosts.provider_id').distinct().execute();
  if (providers.length === 0) return [];
  const ranked = await rankedProviders(db, providers.map((p) => p.provider_id));
  return held()
    .select(['gpus.id', 'gpus.host_id', 'hosts.provider_id', 'gpus.tier', 'gpus.model', 'gpus.price_per_gpu_hour'])
    .orderBy('gpus.price_per_gpu_hour')
    .orderBy(reliabilityRank(ranked))
    .orderBy('gpus.tier')
    .orderBy('gpus.id')
    .execute();
}

/** Only GPUs still held by this lease are freed, so a late or repeated release never frees another lease's GPU. */
export async function releaseLeaseGpus(db: Db, leaseId: string, gpuIds: string[]): Promise<number> {
  if (gpuIds.length === 0) return 0;
  const released = await db
    .updateTable('gpus')
    .set({ status: 'free', lease_id: null, reservation_id: null })
    .where('id', 'in', gpuIds)
    .where('lease_id', '=', leaseId)
    .executeTakeFirst();
  return Number(released.numUpdatedRows);
}
