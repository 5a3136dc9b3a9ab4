/** Database rows as the API shows them: ISO timestamps, prices as decimal token strings, camelCase. */
import { formatTokenAmount } from '../domain/money';
import { EVIDENCE_WINDOW_DAYS } from '../domain/reliability';
import type { LeaseWithAssignments } from '../infra/db/repositories/leases.repo';
import type { HostListing } from '../infra/db/repositories/hosts.repo';
import type { OfferRow } from '../infra/db/repositories/offers.repo';
import type { ProviderReliability } from '../infra/db/repositories/reliability.repo';
import type { HostView } from './schemas/hosts.schemas';
import type { LeaseView } from './schemas/leases.schemas';
import type { OfferView } from './schemas/offers.schemas';
import type { ReliabilityView } from './schemas/reliability.schemas';

/** `unknown`: schema.ts types created_at as Generated<ColumnType>, which kysely selects as the wrapper type. */
function iso(value: unknown): string {
  return new Date(value as Date | string).toISOString();
}

function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : iso(value);
}

export function toLeaseView({ lease, assignments }: LeaseWithAssignments): LeaseView {
  return {
    id: lease.id,
    status: lease.status as LeaseView['status'],
    endReason: lease.end_reason,
    gpuModel: lease.gpu_model,
    gpuCount: lease.gpu_count,
    minTier: lease.min_tier,
    maxPricePerGpuHour: formatTokenAmount(lease.max_price_per_gpu_hour),
    durationSeconds: lease.duration_seconds,
    image: lease.image,
    createdAt: iso(lease.created_at),
    startedAt: isoOrNull(lease.started_at),
    endsAt: isoOrNull(lease.ends_at),
    endedAt: isoOrNull(lease.ended_at),
    assignments: assignments.map((a) => ({
      assignmentId: a.id,
      gpuId: a.gpu_id,
      hostId: a.host_id,
      providerId: a.provider_id,
      tier: a.tier,
      rank: a.rank,
      pricePerGpuHour: formatTokenAmount(a.price_per_gpu_hour),
      epoch: a.epoch,
      startedAt: iso(a.started_at),
      endedAt: isoOrNull(a.ended_at),
      endReason: a.end_reason,
      verifiedSeconds: a.verified_seconds,
    })),
    failoverCount: lease.failover_count,
  };
}

export function toHostView({ host, providerName, gpus }: HostListing): HostView {
  return {
    hostId: host.id,
    providerId: host.provider_id,
    providerName,
    tier: host.tier,
    status: host.status,
    gpuSource: host.gpu_source,
    lastHeartbeatAt: isoOrNull(host.last_heartbeat_at),
    gpus: gpus.map((gpu) => ({
      id: gpu.id,
      model: gpu.model,
      vramGb: gpu.vram_gb,
      pricePerGpuHour: formatTokenAmount(gpu.price_per_gpu_hour),
      status: gpu.status,
    })),
  };
}

export function toOfferView(offer: OfferRow): OfferView {
  return { ...offer, pricePerGpuHour: formatTokenAmount(offer.pricePerGpuHour) };
}

export function toReliabilityView({ evidence, ...score }: ProviderReliability): ReliabilityView {
  return { ...score, windowDays: EVIDENCE_WINDOW_DAYS, evidence };
}
