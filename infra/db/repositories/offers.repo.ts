/** What a customer could lease right now: free GPUs on live hosts, grouped the way a lease asks for them. */
import type { Kysely } from 'kysely';
import { rankByReliability } from '../../../domain/reliability';
import type { Tier } from '../../../domain/tier';
import type { Database } from '../schema';
import { reliabilityOfProviders } from './reliability.repo';

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
  /** Who has them, in the order placement takes them at this price: the most reliable provider first. */
  providers: OfferProvider[];
}

export interface OfferProvider {
  providerId: string;
  available: number;
  /** domain/reliability.ts score, in (0, 1]. */
  reliability: number;
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
      'hosts.provider_id as providerId',
      eb.fn.countAll<string>().as('available'),
    ])
    .where('gpus.status', '=', 'free')
    .where('hosts.status', '=', 'online')
    .where('hosts.last_heartbeat_at', '>=', liveSince)
    .groupBy(['gpus.model', 'gpus.tier', 'gpus.price_per_gpu_hour', 'gpus.vram_gb', 'hosts.provider_id'])
    .orderBy('gpus.model')
    .orderBy('gpus.tier')
    .orderBy('gpus.price_per_gpu_hour')
    .orderBy('gpus.vram_gb');
  if (filter.gpuModel !== undefined) query = query.where('gpus.model', '=', filter.gpuModel);
  if (filter.minTier !== undefined) query = query.where('gpus.tier', '<=', filter.minTier);
  const rows = await query.execute();
  const reliability = await reliabilityOfProviders(db, [...new Set(rows.map((row) => row.providerId))]);

  // One offer per model, tier, price and VRAM (rows arrive grouped by them), its providers folded in.
  const offers: OfferRow[] = [];
  for (const row of rows) {
    // pg returns count(*) and bigint columns as strings.
    const pricePerGpuHour = String(row.pricePerGpuHour);
    const available = Number(row.available);
    const provider = { providerId: row.providerId, available, reliability: reliability.get(row.providerId)!.score };
    const last = offers[offers.length - 1];
    if (last && last.gpuModel === row.gpuModel && last.tier === row.tier && last.pricePerGpuHour === pricePerGpuHour && last.vramGb === row.vramGb) {
      last.available += available;
      last.providers.push(provider);
    } else {
      offers.push({ gpuModel: row.gpuModel, tier: row.tier, pricePerGpuHour, vramGb: row.vramGb, available, providers: [provider] });
    }
  }
  // The order reservations.repo takes them in at one price.
  const rank = new Map(rankByReliability(new Map([...reliability].map(([id, r]) => [id, r.score]))).map((id, index) => [id, index]));
  for (const offer of offers) offer.providers.sort((a, b) => rank.get(a.providerId)! - rank.get(b.providerId)!);
  return offers;
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
