/** What /v1/operator/* answers: the whole network as an operator reads it, as validated and as documented. */
import { LEASE_STATUSES } from '../../domain/lease';
import { HEALTH_BUCKETS } from '../../infra/db/repositories/network-overview.repo';
import { z } from '../zod';
import { Timestamp } from './common.schemas';

const Amount = z.string().regex(/^\d+(\.\d{1,6})?$/).openapi({ description: 'Payment token, exact decimal (6 decimals at most)', example: '12.5' });
const Count = z.int().min(0);

export const FleetGroupView = z
  .object({
    tier: z.int().min(1).max(3),
    model: z.string(),
    total: Count,
    free: Count.openapi({ description: 'Free on online hosts in placement: what a lease could get now' }),
    leased: Count.openapi({ description: 'Reserved by a lease' }),
  })
  .openapi('FleetGroup', { description: 'GPUs of one tier and model' });

export const OperatorHostView = z
  .object({
    hostId: z.string(),
    providerId: z.string(),
    providerName: z.string(),
    tier: z.int(),
    health: z.enum(['healthy', 'unhealthy', 'lost']).openapi({
      description: 'lost: silent past the heartbeat timeout; unhealthy: reporting, but out of placement until `unhealthyUntil`',
    }),
    lastReportAt: Timestamp,
    unhealthyUntil: Timestamp,
    gpus: Count,
    gpusLeased: Count,
    liveAssignments: Count,
  })
  .openapi('OperatorHost');

export const OperatorProviderView = z
  .object({
    id: z.string(),
    name: z.string(),
    tier: z.int(),
    hosts: Count,
    earnings: z.object({
      gross: Amount.openapi({ description: 'What its GPUs earned: net + fee + burn' }),
      net: Amount.openapi({ description: 'What it received' }),
      fee: Amount,
      burn: Amount,
      seconds: Count.openapi({ description: 'GPU-seconds paid' }),
      settlements: Count,
    }),
  })
  .openapi('OperatorProvider', { description: 'A provider with its earnings from confirmed settlements' });

export const NetworkHealthQuery = z.object({
  bucket: z.enum(HEALTH_BUCKETS).default('hour').openapi({ description: 'Width of each point (default hour)' }),
  limit: z.coerce.number().int().min(1).max(500).default(48).openapi({ description: 'The newest buckets that had settlements (default 48)' }),
});

export const NetworkHealthPointView = z
  .object({
    start: z.iso.datetime().openapi({ description: 'Start of the bucket, UTC' }),
    computeSold: Amount.openapi({ description: 'Customers’ money settled for verified compute (gross)' }),
    paidToProviders: Amount.openapi({ description: 'computeSold − fees − burned' }),
    fees: Amount.openapi({ description: 'To the treasury' }),
    burned: Amount,
    refunded: Amount.openapi({ description: 'Unused deposits returned at close' }),
    settlements: Count,
    gpuSeconds: Count,
  })
  .openapi('NetworkHealthPoint');

export const NetworkHealthView = z
  .object({
    bucket: z.enum(HEALTH_BUCKETS),
    points: z.array(NetworkHealthPointView).openapi({ description: 'Oldest first; buckets without a settlement are left out' }),
  })
  .openapi('NetworkHealth', { description: 'The market’s money over time, by when each settlement was confirmed on-chain' });
export type NetworkHealthView = z.infer<typeof NetworkHealthView>;

export const OperatorLeasesQuery = z.object({
  status: z.enum(LEASE_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const OperatorLeaseView = z
  .object({
    id: z.uuid(),
    customerId: z.string(),
    customerName: z.string(),
    status: z.string(),
    endReason: z.string().nullable(),
    gpuModel: z.string(),
    gpuCount: z.int(),
    minTier: z.int(),
    failoverCount: z.int(),
    createdAt: z.iso.datetime(),
    startedAt: Timestamp,
    endedAt: Timestamp,
    workflowId: z.string().openapi({ example: 'lease-3f0c…', description: 'The lease’s Temporal workflow' }),
    temporalUrl: z.url().nullable().openapi({ description: 'The workflow in the Temporal UI; null when no UI address is configured' }),
  })
  .openapi('OperatorLease');
