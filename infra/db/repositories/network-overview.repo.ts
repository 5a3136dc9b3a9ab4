/**
 * What an operator reads about the whole network (/v1/operator/*, the dashboard's operator view): the
 * fleet by tier and model, hosts and their health, providers with their earnings, the market's money
 * over time, and every lease. Aggregates are computed in SQL; money stays in base units (decimal
 * strings) for the API to format. Only confirmed settlements count, as in the escrow ledger's books.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema';

export interface FleetRow {
  tier: number;
  model: string;
  total: number;
  /** Free GPUs on online hosts that are not out of placement: what a lease could get now. */
  free: number;
  /** Reserved by a lease. */
  leased: number;
}

export async function fleetByTierAndModel(db: Kysely<Database>): Promise<FleetRow[]> {
  const rows = await db.selectFrom('gpus')
    .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
    .select([
      'gpus.tier', 'gpus.model',
      sql<string>`count(*)`.as('total'),
      sql<string>`count(*) filter (where gpus.status = 'free' and hosts.status = 'online'
        and (hosts.unhealthy_until is null or hosts.unhealthy_until <= now()))`.as('free'),
      sql<string>`count(*) filter (where gpus.status = 'reserved')`.as('leased'),
    ])
    .groupBy(['gpus.tier', 'gpus.model'])
    .orderBy('gpus.tier').orderBy('gpus.model')
    .execute();
  return rows.map((r) => ({ tier: r.tier, model: r.model, total: Number(r.total), free: Number(r.free), leased: Number(r.leased) }));
}

/** `lost`: the fleet monitor stopped hearing it (or it went offline); `unhealthy`: reporting, but out of placement. */
export type HostHealth = 'healthy' | 'unhealthy' | 'lost';

export interface HostOverviewRow {
  hostId: string;
  providerId: string;
  providerName: string;
  tier: number;
  health: HostHealth;
  lastReportAt: Date | null;
  unhealthyUntil: Date | null;
  gpus: number;
  gpusLeased: number;
  /** Assignments on it that have not ended. */
  liveAssignments: number;
}

export async function hostsOverview(db: Kysely<Database>): Promise<HostOverviewRow[]> {
  const rows = await db.selectFrom('hosts')
    .innerJoin('providers', 'providers.id', 'hosts.provider_id')
    .select([
      'hosts.id', 'hosts.provider_id', 'providers.name as provider_name', 'hosts.tier', 'hosts.status', 'hosts.last_heartbeat_at',
      'hosts.unhealthy_until',
      sql<boolean>`coalesce(hosts.unhealthy_until > now(), false)`.as('unhealthy'),
      sql<string>`(select count(*) from gpus g where g.host_id = hosts.id)`.as('gpus'),
      sql<string>`(select count(*) from gpus g where g.host_id = hosts.id and g.status = 'reserved')`.as('gpus_leased'),
      sql<string>`(select count(*) from assignments a where a.host_id = hosts.id and a.ended_at is null)`.as('live'),
    ])
    .orderBy('hosts.id')
    .execute();
  return rows.map((r) => ({
    hostId: r.id,
    providerId: r.provider_id,
    providerName: r.provider_name,
    tier: r.tier,
    health: r.status !== 'online' ? 'lost' : r.unhealthy ? 'unhealthy' : 'healthy',
    lastReportAt: r.last_heartbeat_at,
    unhealthyUntil: r.unhealthy_until,
    gpus: Number(r.gpus),
    gpusLeased: Number(r.gpus_leased),
    liveAssignments: Number(r.live),
  }));
}

export interface ProviderOverviewRow {
  id: string;
  name: string;
  tier: number;
  hosts: number;
  /** Base units from confirmed settlements: what its GPUs earned (gross) and what it received (net). */
  gross: string;
  net: string;
  fee: string;
  burn: string;
  seconds: number;
  settlements: number;
}

export async function providersOverview(db: Kysely<Database>): Promise<ProviderOverviewRow[]> {
  const rows = await db.selectFrom('providers')
    .leftJoin(
      (eb) => eb.selectFrom('settlement_payouts as p')
        .innerJoin('settlements as s', (join) => join.onRef('s.lease_id', '=', 'p.lease_id').onRef('s.period', '=', 'p.period'))
        .where('s.status', '=', 'confirmed')
        .select([
          'p.provider_id',
          sql<string>`sum(p.gross)`.as('gross'), sql<string>`sum(p.net)`.as('net'), sql<string>`sum(p.fee)`.as('fee'),
          sql<string>`sum(p.burn)`.as('burn'), sql<string>`sum(p.seconds)`.as('seconds'), sql<string>`count(*)`.as('settlements'),
        ])
        .groupBy('p.provider_id')
        .as('e'),
      (join) => join.onRef('e.provider_id', '=', 'providers.id'),
    )
    .select([
      'providers.id', 'providers.name', 'providers.tier',
      sql<string>`(select count(*) from hosts h where h.provider_id = providers.id)`.as('hosts'),
      sql<string>`coalesce(e.gross, 0)`.as('gross'), sql<string>`coalesce(e.net, 0)`.as('net'),
      sql<string>`coalesce(e.fee, 0)`.as('fee'), sql<string>`coalesce(e.burn, 0)`.as('burn'),
      sql<string>`coalesce(e.seconds, 0)`.as('seconds'), sql<string>`coalesce(e.settlements, 0)`.as('settlements'),
    ])
    .orderBy('providers.name').orderBy('providers.id')
    .execute();
  return rows.map((r) => ({
    id: r.id, name: r.name, tier: r.tier, hosts: Number(r.hosts), gross: String(r.gross), net: String(r.net), fee: String(r.fee),
    burn: String(r.burn), seconds: Number(r.seconds), settlements: Number(r.settlements),
  }));
}

export const HEALTH_BUCKETS = ['minute', 'hour', 'day'] as const;
export type HealthBucket = (typeof HEALTH_BUCKETS)[number];

export interface NetworkHealthRow {
  /** Start of the bucket (UTC). */
  start: Date;
  /** Base units: compute sold (what customers paid for verified seconds) and its split. */
  computeSold: string;
  paidToProviders: string;
  fees: string;
  burned: string;
  refunded: string;
  settlements: number;
  /** Verified GPU-seconds paid in the bucket. */
  gpuSeconds: number;
}

/**
 * The market's money per time bucket, by when each settlement was confirmed on-chain: the last `limit`
 * buckets that had any, oldest first. `paidToProviders = computeSold - fees - burned`, the program's split.
 */
export async function networkHealth(db: Kysely<Database>, bucket: HealthBucket, limit: number): Promise<NetworkHealthRow[]> {
  // `bucket` is one of HEALTH_BUCKETS (checked by the caller's schema), never free text.
  const start = sql<Date>`date_trunc(${sql.lit(bucket)}, s.confirmed_at)`;
  const rows = await db.selectFrom('settlements as s')
    .select([
      start.as('start'),
      sql<string>`sum(s.gross)`.as('gross'),
      sql<string>`sum(s.gross - s.fee - s.burned)`.as('paid'),
      sql<string>`sum(s.fee)`.as('fees'),
      sql<string>`sum(s.burned)`.as('burned'),
      sql<string>`sum(s.refunded)`.as('refunded'),
      sql<string>`count(*)`.as('settlements'),
      sql<string>`coalesce(sum((select sum(p.seconds) from settlement_payouts p where p.lease_id = s.lease_id and p.period = s.period)), 0)`
        .as('seconds'),
    ])
    .where('s.status', '=', 'confirmed')
    .where('s.confirmed_at', 'is not', null)
    .groupBy(start)
    .orderBy(start, 'desc')
    .limit(limit)
    .execute();
  return rows.reverse().map((r) => ({
    start: new Date(r.start),
    computeSold: String(r.gross),
    paidToProviders: String(r.paid),
    fees: String(r.fees),
    burned: String(r.burned),
    refunded: String(r.refunded),
    settlements: Number(r.settlements),
    gpuSeconds: Number(r.seconds),
  }));
}

export interface LeaseOverviewRow {
  id: string;
  customerId: string;
  customerName: string;
  status: string;
  endReason: string | null;
  gpuModel: string;
  gpuCount: number;
  minTier: number;
  failoverCount: number;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

/** Every customer's leases, newest first; `status` narrows to one status. */
export async function leasesOverview(db: Kysely<Database>, options: { limit: number; status?: string }): Promise<LeaseOverviewRow[]> {
  let query = db.selectFrom('leases')
    .innerJoin('customers', 'customers.id', 'leases.customer_id')
    .select([
      'leases.id', 'leases.customer_id', 'customers.name as customer_name', 'leases.status', 'leases.end_reason', 'leases.gpu_model',
      'leases.gpu_count', 'leases.min_tier', 'leases.failover_count', 'leases.created_at', 'leases.started_at', 'leases.ended_at',
    ])
    .orderBy('leases.created_at', 'desc').orderBy('leases.id', 'desc')
    .limit(options.limit);
  if (options.status !== undefined) query = query.where('leases.status', '=', options.status);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id, customerId: r.customer_id, customerName: r.customer_name, status: r.status, endReason: r.end_reason,
    gpuModel: r.gpu_model, gpuCount: r.gpu_count, minTier: r.min_tier, failoverCount: r.failover_count,
    createdAt: new Date(r.created_at as unknown as string), startedAt: r.started_at, endedAt: r.ended_at,
  }));
}
