/**
 * Provider quality tiers. Tier 1 is best (certified data centres), tier 3 is community rigs.
 * A lease that asks for tier k may run on tier k or any better (numerically smaller) tier, never worse.
 */
export const TIERS = [1, 2, 3] as const;
export type Tier = (typeof TIERS)[number];

export function isTier(value: unknown): value is Tier {
  return value === 1 || value === 2 || value === 3;
}

/** True when a GPU of `actual` tier may serve a lease that asked for `required` or better. */
export function satisfiesTier(actual: Tier, required: Tier): boolean {
  return actual <= required;
}
