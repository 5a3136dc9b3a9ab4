/**
 * Inventory (DESIGN §2.1): GPUs are taken and given back in PostgreSQL, all of a lease's GPUs or none,
 * under row locks so that concurrent leases never get the same GPU.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { ReservedGpu } from '../domain/lease';
import { formatTokenAmount } from '../domain/money';
import { isTier } from '../domain/tier';
import type { Database } from '../infra/db/schema';
import type { ControlActivities, ReserveGpusInput, ReserveGpusResult } from './contracts';

interface Deps {
  db: Kysely<Database>;
  log?: Logger;
}

export type InventoryActivities = Pick<ControlActivities, 'reserveGpus' | 'releaseGpus'>;

type GpuRow = { id: string; host_id: string; provider_id: string; tier: number; model: string; price_per_gpu_hour: string };

function toReservedGpu(row: GpuRow): ReservedGpu {
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
  const heldBy = (conn: Kysely<Database>, reservationId: string, leaseId: string) =>
    conn
      .selectFrom('gpus')
      .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
      .select(['gpus.id', 'gpus.host_id', 'hosts.provider_id', 'gpus.tier', 'gpus.model', 'gpus.price_per_gpu_hour'])
      .where('gpus.reservation_id', '=', reservationId)
      .where('gpus.lease_id', '=', leaseId)
      // The order of the first answer (it decides ranks): cheapest first, as reserved.
      .orderBy('gpus.price_per_gpu_hour')
      .orderBy('gpus.tier')
      .orderBy('gpus.id')
      .execute();

  async function reserveGpus(input: ReserveGpusInput): Promise<ReserveGpusResult> {
    validate(input);
    const trx = await db.startTransaction().execute();
    try {
      // A retry after a lost reply: the first attempt committed, hand back what it took.
      const already = await heldBy(trx, input.reservationId, input.leaseId);
      if (already.length > 0) {
        await trx.commit().execute();
        return { ok: true, gpus: already.map(toReservedGpu) };
      }

      let candidates = trx
        .selectFrom('gpus')
        .innerJoin('hosts', 'hosts.id', 'gpus.host_id')
        .select(['gpus.id', 'gpus.host_id', 'hosts.provider_id', 'gpus.tier', 'gpus.model', 'gpus.price_per_gpu_hour'])
        .where('gpus.model', '=', input.gpuModel)
        .where('gpus.status', '=', 'free')
        .where('gpus.tier', '<=', input.minTier)
        .where('gpus.price_per_gpu_hour', '<=', input.maxPricePerGpuHour)
        .where('hosts.status', '=', 'online')
        .where('hosts.last_heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${input.heartbeatTimeoutSeconds})`)
        // A host that left a dispatch unstarted or kept sending rejected receipts sits out its cool-down.
        .where((eb) => eb.or([eb('hosts.unhealthy_until', 'is', null), eb('hosts.unhealthy_until', '<', sql<Date>`now()`)]))
        // A GPU released before its old assignment was closed is not free yet for a new container.
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('assignments').select('assignments.id').whereRef('assignments.gpu_id', '=', 'gpus.id').where('assignments.ended_at', 'is', null))),
        );
      if (input.excludeProviderIds.length > 0) candidates = candidates.where('hosts.provider_id', 'not in', input.excludeProviderIds);
      // Rows another reservation is deciding on are skipped rather than waited for: that reservation
      // will either take them or let them go, and we must not block behind it.
      const picked = await candidates
        .orderBy('gpus.price_per_gpu_hour')
        .orderBy('gpus.tier')
        .orderBy('gpus.id')
        .limit(input.count)
        .forUpdate(['gpus'])
        .skipLocked()
        .execute();

      if (picked.length < input.count) {
        await trx.rollback().execute();
        const reason = shortageReason(input, picked.length);
        log?.info({ leaseId: input.leaseId, reservationId: input.reservationId, available: picked.length }, reason);
        return { ok: false, reason, available: picked.length };
      }

      const updated = await trx
        .updateTable('gpus')
        .set({ status: 'reserved', lease_id: input.leaseId, reservation_id: input.reservationId })
        .where('id', 'in', picked.map((gpu) => gpu.id))
        .where('status', '=', 'free')
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== input.count) {
        throw new Error(`reservation ${input.reservationId} locked ${input.count} free GPUs but reserved ${updated.numUpdatedRows}`);
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
    const released = await db
      .updateTable('gpus')
      .set({ status: 'free', lease_id: null, reservation_id: null })
      .where('id', 'in', gpuIds)
      .where('lease_id', '=', leaseId)
      .executeTakeFirst();
    log?.info({ leaseId, gpuIds, released: Number(released.numUpdatedRows) }, 'GPUs released');
  }

  return { reserveGpus, releaseGpus };
}
