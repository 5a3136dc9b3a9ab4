/** What a customer could lease right now: free GPUs on live hosts, grouped the way a lease asks for them. */
import type { Kysely } from 'kysely';
import type { Tier } from '../../../domain/tier';
import type { Database } from '../schema';

export interface OfferFilter {
  gpuModel?: string;
  /** Tier k or better (numerically ≤ k). */
  minTier?: Tier;
  /** Same liveness rule as reservations: a host silent for longer is not offered. */
  heartbeatTimeoutSeconds: number;
  now: Date;
}

export interface OfferRow {
  gpuModel: string;
  tier: number;
  /** Token base units per GPU-hour. */
  pricePerGpuHour: string;
  vramGb: number;
  available: number;
}

export async function listOffers(db: Kysely<Database>, filter: OfferFilter): Promise<OfferRow[]> {
  const liveSince = new Date(filter.now.getTime() - filter.heartbeatTimeoutSeconds * 1000);
  let query = db
    .selectFrom('gpus')
    .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
    .select((eb) => [
      'gpus.model as gpuModel',
      'gpus.tier as tier',
      'gpus.price_per_gpu_hour as pricePerGpuHour',
      'gpus.vram_gb as vramGb',
      eb.fn.countAll<string>().as('available'),
    ])
    .where('gpus.status', '=', 'free')
    .where('hosts.status', '=', 'online')
    .where('hosts.last_heartbeat_at', '>=', liveSince)
    .groupBy(['gpus.model', 'gpus.tier', 'gpus.price_per_gpu_hour', 'gpus.vram_gb'])
    .orderBy('gpus.model')
    .orderBy('gpus.tier')
    .orderBy('gpus.price_per_gpu_hour')
    .orderBy('gpus.vram_gb');
  if (filter.gpuModel !== undefined) query = query.where('gpus.model', '=', filter.gpuModel);
  if (filter.minTier !== undefined) query = query.where('gpus.tier', '<=', filter.minTier);
  const rows = await query.execute();
  // pg returns count(*) and bigint columns as strings.
  return rows.map((row) => ({ ...row, pricePerGpuHour: String(row.pricePerGpuHour), available: Number(row.available) }));
}

/** True when any registered GPU (free or not) is of this model: a lease for an unknown model can never run. */
export async function isKnownGpuModel(db: Kysely<Database>, model: string): Promise<boolean> {
  const row = await db.selectFrom('gpus').select('id').where('model', '=', model).limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function knownGpuModels(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('gpus').select('model').distinct().orderBy('model').execute();
  return rows.map((row) => row.model);
}
