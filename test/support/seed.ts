/**
 * Rows for tests that need inventory and leases: the smallest valid customer, provider, host, GPU and
 * lease, each overridable. Ids are random so one database can hold many scenarios.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, GpuStatus, HostStatus } from '../../infra/db/schema';

const id = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function seedCustomer(db: Kysely<Database>): Promise<string> {
  const customerId = id('cus');
  await db.insertInto('customers').values({ id: customerId, name: customerId, api_key_hash: randomUUID() }).execute();
  return customerId;
}

export async function seedProvider(db: Kysely<Database>, tier = 1): Promise<string> {
  const providerId = id('prv');
  await db.insertInto('providers').values({ id: providerId, name: providerId, tier, api_key_hash: randomUUID() }).execute();
  return providerId;
}

export interface HostSeed {
  providerId: string;
  tier?: number;
  status?: HostStatus;
  /** How long ago the host last heartbeated; null for never. */
  heartbeatAgeSeconds?: number | null;
  publicKey?: string;
}

export async function seedHost(db: Kysely<Database>, seed: HostSeed): Promise<string> {
  const hostId = id('host');
  const age = seed.heartbeatAgeSeconds === undefined ? 0 : seed.heartbeatAgeSeconds;
  await db
    .insertInto('hosts')
    .values({
      id: hostId,
      provider_id: seed.providerId,
      public_key: seed.publicKey ?? randomUUID(),
      tier: seed.tier ?? 1,
      status: seed.status ?? 'online',
      gpu_source: 'simulated',
      last_heartbeat_at: age === null ? null : new Date(Date.now() - age * 1000),
    })
    .execute();
  return hostId;
}

export interface GpuSeed {
  hostId: string;
  model?: string;
  tier?: number;
  /** Token base units per GPU-hour. */
  price?: bigint;
  count?: number;
  status?: GpuStatus;
}

export async function seedGpus(db: Kysely<Database>, seed: GpuSeed): Promise<string[]> {
  const ids = Array.from({ length: seed.count ?? 1 }, () => id('gpu'));
  await db
    .insertInto('gpus')
    .values(
      ids.map((gpuId) => ({
        id: gpuId,
        host_id: seed.hostId,
        model: seed.model ?? 'H100',
        vram_gb: 80,
        tier: seed.tier ?? 1,
        price_per_gpu_hour: seed.price ?? 2_000_000n,
        status: seed.status ?? 'free',
      })),
    )
    .execute();
  return ids;
}

export async function seedLease(db: Kysely<Database>, customerId: string, overrides: { gpuCount?: number } = {}): Promise<string> {
  const leaseId = id('lease');
  await db
    .insertInto('leases')
    .values({
      id: leaseId,
      customer_id: customerId,
      status: 'reserving',
      gpu_model: 'H100',
      gpu_count: overrides.gpuCount ?? 1,
      min_tier: 2,
      max_price_per_gpu_hour: 2_500_000n,
      duration_seconds: 3600,
      image: 'lease-engine/busybox:local',
      request_hash: randomUUID(),
    })
    .execute();
  return leaseId;
}
