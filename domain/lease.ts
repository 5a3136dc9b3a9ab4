import type { Tier } from './tier';

/** What a customer asks for. Prices are in base units of the payment token (6 decimals), as decimal strings of integers. */
export interface LeaseSpec {
  gpuModel: string;
  gpuCount: number;
  minTier: Tier;
  /** Cap on the price of one GPU-hour, in token base units (integer string). */
  maxPricePerGpuHour: string;
  /** Null: the lease runs until cancelled, or until the customer's allowance can no longer fund it. */
  durationSeconds: number | null;
  image: string;
  command?: string[];
  env?: Record<string, string>;
}

export const LEASE_STATUSES = [
  'reserving',
  'dispatching',
  'running',
  'failing_over',
  'closing',
  'completed',
  'cancelled',
  'failed',
] as const;
export type LeaseStatus = (typeof LEASE_STATUSES)[number];

export const TERMINAL_STATUSES: readonly LeaseStatus[] = ['completed', 'cancelled', 'failed'];

export function isTerminal(status: LeaseStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Why an assignment (one GPU's container on one host, at one epoch) ended. */
export type AssignmentEndReason =
  | 'lease_completed'
  | 'lease_cancelled'
  | 'lease_failed'
  | 'host_lost'
  /** Its host kept sending rejected receipts: replaced, the host out of placement for a while. */
  | 'host_unhealthy'
  | 'container_exited'
  /** Its host did not report the container running in time, or reported it could not run it. */
  | 'start_failed';

/** A GPU picked for a lease by a reservation; prices in token base units per GPU-hour. */
export interface ReservedGpu {
  gpuId: string;
  hostId: string;
  providerId: string;
  tier: Tier;
  model: string;
  pricePerGpuHour: string;
}
