/**
 * Inventory (DESIGN §2.1): GPUs are taken and given back in PostgreSQL, all of a lease's GPUs or none,
 * under row locks so that concurrent leases never get the same GPU.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ReservedGpu } from '../domain/lease';
import { formatTokenAmount } from '../domain/money';
import { isTier } from '../domain/tier';
import type { ReservableGpu } from '../infra/db/repositories/reservations.repo';
import { gpusHeldBy, lockReservableGpus, releaseLeaseGpus, takeGpus } from '../infra/db/repositories/reservations.repo';
import type { Database } from '../infra/db/schema';
import type { ControlActivities, ReserveGpusInput, ReserveGpusResult } from './contracts';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
}

export type InventoryActivities = Pick<ControlActivities, 'reserveGpus' | 'releaseGpus'>;

function toReservedGpu(row: ReservableGpu): ReservedGpu {
  if (!isTier(row.tier)) throw new Error(`GPU ${row.id} has tier ${row.tier}, which is not a tier`);
  return {
    gpuId: row.id,
    hostId: row.host_id,
    providerId: row.provider_id,
    tier: row.tier,
    model: row.model,
    pricePerGpuHour: row.price_per_gpu_hour,
  };
}

function shortageReason(input: ReserveGpusInput, available: number): string {
  const excluded = input.excludeProviderIds.length > 0 ? ` outside providers ${input.excludeProviderIds.join(', ')}` : '';
  return (
    `needs ${input.count} free ${input.gpuModel} GPUs of tier ${input.minTier} or better ` +
    `at ≤ ${formatTokenAmount(input.maxPricePerGpuHour)} per GPU-hour on healthy online hosts${excluded}; ${available} available`
  );
}

function validate(input: ReserveGpusInput): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(input.count) || input.count < 1) problems.push(`count must be a positive integer (got ${input.count})`);
  if (!isTier(input.minTier)) problems.push(`minTier must be 1, 2 or 3 (got ${String(input.minTier)})`);
  if (!/^\d+$/.test(input.maxPricePerGpuHour)) problems.push(`maxPricePerGpuHour must be integer base units (got "${input.maxPricePerGpuHour}")`);
  if (!(input.heartbeatTimeoutSeconds > 0)) problems.push(`heartbeatTimeoutSeconds must be positive (got ${input.heartbeatTimeoutSeconds})`);
  // A malformed request can never succeed: retrying it would only delay the lease's failure.
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(`invalid reservation: ${problems.join('; ')}`, 'InvalidReservation');
}

export function createInventoryActivities({ db, log }: Deps): InventoryActivities {
  async function reserveGpus(input: ReserveGpusInput): Promise<ReserveGpusResult> {
    validate(input);
    const trx = await db.startTransaction().execute();
    try {
      // A retry after a lost reply: the first attempt committed, hand back what it took.
      const already = await gpusHeldBy(trx, input.reservationId, input.leaseId);
      if (already.length > 0) {
        await trx.commit().execute();
        return { ok: true, gpus: already.map(toReservedGpu) };
      }

      // Cheapest first, then the most reliable provider (reservations.repo): the order decides ranks.
      const picked = await lockReservableGpus(trx, input);
      if (picked.length < input.count) {
        await trx.rollback().execute();
        const reason = shortageReason(input, picked.length);
        log?.info({ leaseId: input.leaseId, reservationId: input.reservationId, available: picked.length }, reason);
        return { ok: false, reason, available: picked.length };
      }

      const taken = await takeGpus(trx, picked.map((gpu) => gpu.id), input.leaseId, input.reservationId);
      if (taken !== input.count) {
        throw new Error(`reservation ${input.reservationId} locked ${input.count} free GPUs but reserved ${taken}`);
      }
      await trx.commit().execute();
      const gpus = picked.map(toReservedGpu);
      log?.info({ leaseId: input.leaseId, reservationId: input.reservationId, gpuIds: gpus.map((gpu) => gpu.gpuId) }, 'GPUs reserved');
      return { ok: true, gpus };
    } catch (error) {
      await trx.rollback().execute().catch(() => undefined);
      throw error;
    }
  }

  /** Only GPUs still held by this lease are freed, so a late or repeated release never frees another lease's GPU. */
  async function releaseGpus({ leaseId, gpuIds }: { leaseId: string; gpuIds: string[] }): Promise<void> {
    if (gpuIds.length === 0) return;
    const released = await releaseLeaseGpus(db, leaseId, gpuIds);
    log?.info({ leaseId, gpuIds, released }, 'GPUs released');
  }

  return { reserveGpus, releaseGpus };
}
