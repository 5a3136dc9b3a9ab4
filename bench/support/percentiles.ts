/**
 * Tail summaries for benchmarks with many samples (settlement lag): a target on p99 needs percentiles,
 * not the min/median/max of stats.ts, which suits five or so repetitions.
 */

export interface Percentiles {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile: the smallest sample with at least p % of the samples at or below it. */
function nearestRank(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) throw new Error('no samples to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const round = Math.round;
  return {
    n: sorted.length,
    min: round(sorted[0]!),
    p50: round(nearestRank(sorted, 50)),
    p90: round(nearestRank(sorted, 90)),
    p99: round(nearestRank(sorted, 99)),
    max: round(sorted[sorted.length - 1]!),
    mean: round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length),
  };
}

/** Percentiles of every numeric field the samples share; null where no sample has that field. */
export function percentilesOfFields<K extends string>(samples: Record<K, number | null>[]): Record<K, Percentiles | null> {
  const keys = new Set(samples.flatMap((s) => Object.keys(s) as K[]));
  const out = {} as Record<K, Percentiles | null>;
  for (const key of keys) {
    const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === 'number');
    out[key] = values.length > 0 ? percentiles(values) : null;
  }
  return out;
}
