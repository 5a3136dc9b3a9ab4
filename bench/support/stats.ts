/** Small-sample summaries: with five or so repetitions, min/median/max say more than a mean would. */

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('nothing to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { n: sorted.length, min: Math.round(sorted[0]!), median: Math.round(median), max: Math.round(sorted[sorted.length - 1]!) };
}

/** Summaries of every numeric field the samples share (e.g. one per phase of a profile). */
export function summarizeFields<K extends string>(samples: Record<K, number | null>[]): Record<K, Summary | null> {
  const keys = new Set(samples.flatMap((s) => Object.keys(s) as K[]));
  const out = {} as Record<K, Summary | null>;
  for (const key of keys) {
    const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === 'number');
    out[key] = values.length > 0 ? summarize(values) : null;
  }
  return out;
}
