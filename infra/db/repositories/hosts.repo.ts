/**
 * Hosts and their GPUs as providers register them. A host's word is taken for what GPUs it has and
 * what it asks for them; its tier always comes from its provider.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Tier } from '../../../domain/tier';
import type { Database, Gpu, GpuStatus, Host, HostTable } from '../schema';

export class HostConflictError extends Error {
  override name = 'HostConflictError';
}

export interface GpuDeclaration {
  id: string;
  model: string;
  vramGb: number;
  /** Token base units per GPU-hour. */
  pricePerGpuHour: bigint;
}

export interface HostRegistration {
  hostId: string;
  providerId: string;
  publicKey: string;
  tier: Tier;
  gpuSource: HostTable['gpu_source'];
  gpus: GpuDeclaration[];
  now: Date;
}

/**
 * Upserts the host and its GPUs in one transaction, so a refused registration changes nothing.
 * A GPU that is reserved stays reserved (a lease is running on it); GPUs the host no longer declares
 * go offline unless reserved, and the lease workflow deals with those when the host is lost.
 */
export async function registerHost(db: Kysely<Database>, registration: HostRegistration): Promise<void> {
  const { hostId, providerId, publicKey, tier, gpuSource, gpus, now } = registration;
  await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('hosts')
      .values({ id: hostId, provider_id: providerId, public_key: publicKey, tier, status: 'online', gpu_source: gpuSource, last_heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await trx.selectFrom('hosts').selectAll().where('id', '=', hostId).forUpdate().executeTakeFirstOrThrow();
      if (existing.provider_id !== providerId) {
        throw new HostConflictError(`host ${hostId} is already registered by another provider`);
      }
      if (existing.public_key !== publicKey) {
        throw new HostConflictError(`host ${hostId} is already registered with another public key`);
      }
      await trx
        .updateTable('hosts')
        .set({ tier, status: 'online', gpu_source: gpuSource, last_heartbeat_at: now })
        .where('id', '=', hostId)
        .execute();
    }

    for (const gpu of gpus) {
      const upserted = await trx
        .insertInto('gpus')
        .values({ id: gpu.id, host_id: hostId, model: gpu.model, vram_gb: gpu.vramGb, tier, price_per_gpu_hour: gpu.pricePerGpuHour, status: 'free', lease_id: null, reservation_id: null })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet((eb) => ({
              model: eb.ref('excluded.model'),
              vram_gb: eb.ref('excluded.vram_gb'),
              tier: eb.ref('excluded.tier'),
              price_per_gpu_hour: eb.ref('excluded.price_per_gpu_hour'),
              status: sql<GpuStatus>`case when gpus.status = 'reserved' then 'reserved' else 'free' end`,
            }))
            // A GPU id owned by another host is not updated: no row comes back, and we refuse.
            .where('gpus.host_id', '=', hostId),
        )
        .returning('id')
        .executeTakeFirst();
      if (!upserted) throw new HostConflictError(`GPU ${gpu.id} is already registered by another host`);
    }

    let undeclared = trx.updateTable('gpus').set({ status: 'offline' }).where('host_id', '=', hostId).where('status', '<>', 'reserved');
    if (gpus.length > 0) undeclared = undeclared.where('id', 'not in', gpus.map((gpu) => gpu.id));
    await undeclared.execute();
  });
}

export async function findHost(db: Kysely<Database>, hostId: string): Promise<Host | undefined> {
  return db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirst();
}

/** A heartbeat brings a host back online, whatever it was marked before. */
export async function recordHeartbeat(db: Kysely<Database>, hostId: string, now: Date): Promise<void> {
  await db.updateTable('hosts').set({ last_heartbeat_at: now, status: 'online' }).where('id', '=', hostId).execute();
}

/** Assignments the host should be running; a container it runs outside this list is stale and must stop. */
export async function liveAssignmentsOf(
  db: Kysely<Database>,
  hostId: string,
): Promise<{ assignmentId: string; epoch: number }[]> {
  return db
    .selectFrom('assignments')
    .select(['id as assignmentId', 'epoch'])
    .where('host_id', '=', hostId)
    .where('ended_at', 'is', null)
    .orderBy('started_at')
    .orderBy('id')
    .execute();
}

export interface HostListing {
  host: Host;
  providerName: string;
  gpus: Gpu[];
}

export async function listHosts(db: Kysely<Database>): Promise<HostListing[]> {
  const hosts = await db
    .selectFrom('hosts')
    .innerJoin('providers', 'providers.id', 'hosts.provider_id')
    .selectAll('hosts')
    .select('providers.name as provider_name')
    .orderBy('hosts.id')
    .execute();
  const gpus = await db.selectFrom('gpus').selectAll().orderBy('host_id').orderBy('id').execute();
  return hosts.map(({ provider_name, ...host }) => ({
    host,
    providerName: provider_name,
    gpus: gpus.filter((gpu) => gpu.host_id === host.id),
  }));
}
