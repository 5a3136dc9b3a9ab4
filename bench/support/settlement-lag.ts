/**
 * Settlement lag samples: for each confirmed per-period settlement in the ledger, the time from the end
 * of the period it pays to its `confirmed_at`, split into the steps between them (DESIGN §2 step 4:
 * receipts are verified as they arrive, the period's timer fires, closePeriod totals them, then the
 * control worker settles the period on-chain and waits for confirmation).
 *
 * A period's end comes from the workflow history (the closePeriod marker's `endsAt`). It is checked
 * against the ledger alone: periods are aligned to the lease's start, so the period a settlement pays
 * ends at the latest boundary `startedAt + k × period` before the settlement was written.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema';
import type { PeriodRound } from './settlement-rounds';

/** Consecutive steps from the period's end to the settlement confirmed (ms); they add up to the lag. */
export type LagPhases = Record<
  | 'toCloseScheduled' | 'closePickup' | 'closeRun'
  | 'toSettleScheduled' | 'settlePickup' | 'signAndRecord' | 'sendAndConfirm',
  number | null
>;

export interface LagSample {
  leaseId: string;
  /** The settlement's period on-chain (from 1; only periods that paid something take one). */
  chainPeriod: number;
  /** The workflow's period index it pays (from 0), null when the history had no such settlement. */
  workflowPeriod: number | null;
  periodEnd: number;
  lagMs: number;
  /** Whether the ledger-only boundary (latest startedAt + k × period before created_at) is the same end. */
  boundaryAgrees: boolean;
  /** settlePeriod closed after confirmed_at (not part of the lag). */
  settleCompletedAfterConfirmMs: number | null;
  phases: LagPhases | null;
}

export interface LeaseSettlements {
  samples: LagSample[];
  /** Periods the workflow ran (the last, paid by the close, excluded) that took no settlement. */
  periodsWithoutSettlement: number;
}

const diff = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null ? null : a - b);

export async function leaseSettlements(
  db: Kysely<Database>,
  leaseId: string,
  rounds: PeriodRound[],
  periodSeconds: number,
): Promise<LeaseSettlements> {
  const lease = await db.selectFrom('leases').select(['started_at', 'ends_at']).where('id', '=', leaseId).executeTakeFirstOrThrow();
  if (!lease.started_at) throw new Error(`lease ${leaseId} never started`);
  const startedAt = new Date(lease.started_at).getTime();
  const endsAt = lease.ends_at ? new Date(lease.ends_at).getTime() : Infinity;
  const rows = await db.selectFrom('settlements')
    .select(['period', 'created_at', 'confirmed_at'])
    .where('lease_id', '=', leaseId).where('kind', '=', 'settle').where('status', '=', 'confirmed')
    .orderBy('period')
    .execute();
  const byChainPeriod = new Map(rounds.filter((r) => r.settle).map((r) => [r.settle!.chainPeriod, r]));
  const length = periodSeconds * 1000;

  const samples = rows.map((row): LagSample => {
    const chainPeriod = Number(row.period);
    const createdAt = new Date(row.created_at).getTime();
    const confirmedAt = new Date(row.confirmed_at!).getTime();
    const boundary = Math.min(startedAt + Math.floor((createdAt - startedAt) / length) * length, endsAt);
    const round = byChainPeriod.get(chainPeriod);
    const periodEnd = round?.until ?? boundary;
    const settle = round?.settle ?? null;
    const close = round?.close ?? null;
    return {
      leaseId,
      chainPeriod,
      workflowPeriod: round?.period ?? null,
      periodEnd,
      lagMs: confirmedAt - periodEnd,
      boundaryAgrees: boundary === periodEnd,
      settleCompletedAfterConfirmMs: diff(settle?.closedAt, confirmedAt),
      phases: round
        ? {
            // The period's timer fires and a workflow task schedules the close.
            toCloseScheduled: diff(close?.scheduledAt, periodEnd),
            // A local activity: the worker runs it as soon as the workflow task asks, so it has no pickup.
            closePickup: diff(close?.startedAt, close?.scheduledAt),
            closeRun: diff(close?.closedAt, close?.startedAt ?? close?.scheduledAt),
            toSettleScheduled: diff(settle?.scheduledAt, close?.closedAt),
            settlePickup: diff(settle?.startedAt, settle?.scheduledAt),
            // Fetch a blockhash, sign, and write the settlement pending (created_at) before sending it.
            signAndRecord: diff(createdAt, settle?.startedAt),
            sendAndConfirm: confirmedAt - createdAt,
          }
        : null,
    };
  });
  const lastPeriod = Math.max(-1, ...rounds.map((r) => r.period));
  const periodsWithoutSettlement = rounds.filter((r) => r.period !== lastPeriod && r.settle === null).length;
  return { samples, periodsWithoutSettlement };
}
