/**
 * How long a failover took, for the control worker's `lease_engine_failover_duration_seconds`: from the
 * fault the fleet monitor signalled on the lost assignment to its replacement reported running. Pure, so
 * the rules are unit-tested; the activity that sees the replacement run reads the rank's history.
 */

/** Ends that make the workflow replace an assignment (placement.ts failover); any other end is not a failover. */
const FAILOVER_ENDS: ReadonlySet<string> = new Set(['host_lost', 'host_unhealthy']);

/** One earlier assignment of the same lease and rank. */
export interface RankPredecessor {
  epoch: number;
  endReason: string | null;
  /** Unix ms the fleet monitor claimed its fault (assignments.fault_signalled_at); null when none was. */
  faultSignalledAt: number | null;
}

/**
 * When the fault that `epoch` replaces was signalled, or null when `epoch` is no failover (the rank's first
 * start). Replacements that never started (`start_failed`) are passed over: the failover lasts until one runs.
 */
export function replacedFaultAt(epoch: number, rank: readonly RankPredecessor[]): number | null {
  const earlier = rank.filter((a) => a.epoch < epoch).sort((a, b) => b.epoch - a.epoch);
  const replaced = earlier.find((a) => a.endReason !== 'start_failed');
  if (replaced === undefined || replaced.endReason === null || !FAILOVER_ENDS.has(replaced.endReason)) return null;
  return replaced.faultSignalledAt;
}

/** Seconds from the fault to the replacement running; never negative (the two times come from one clock, PostgreSQL's). */
export function failoverSeconds(faultAt: number, runningAt: number): number {
  return Math.max(0, runningAt - faultAt) / 1000;
}

/**
 * Buckets for a failover, in seconds. The signal comes after detection (up to the heartbeat timeout, 10 s by
 * default, which the histogram does not include); from it a reservation, a dispatch and a container start take
 * a few seconds, and each replacement that does not start adds another heartbeat timeout before the next is tried.
 */
export const FAILOVER_BUCKETS_SECONDS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300];
