/** Lease requests and the lease read model, as validated and as documented. */
import { LEASE_STATUSES } from '../../domain/lease';
import { MAX_EXTEND_SECONDS } from '../../workflows/messages';
import { z } from '../zod';
import { Timestamp, TokenAmount } from './common.schemas';
import { EscrowView } from './payments.schemas';

export const MIN_LEASE_SECONDS = 60;
export const MAX_LEASE_SECONDS = 30 * 24 * 3600;
export const MAX_GPUS_PER_LEASE = 64;

/** Names a shell would accept; LEASE_* belongs to the engine's rendezvous contract (LEASE_RANK, …). */
const EnvName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a letter or _ followed by letters, digits or _')
  .refine((name) => !name.startsWith('LEASE_'), 'LEASE_* variables are set by the engine');

/**
 * EnvName's rules for the OpenAPI document, which zod-to-openapi does not derive from a record's key
 * schema; JSON Schema's `propertyNames` is missing from its metadata type, hence the widening.
 */
const ENV_NAMES_DOCUMENTED: Record<string, unknown> = {
  propertyNames: { type: 'string', maxLength: 128, pattern: '^(?!LEASE_)[A-Za-z_][A-Za-z0-9_]*$' },
};

export const LeaseRequest = z
  .strictObject({
    gpuModel: z.string().min(1).max(64).openapi({ example: 'H100' }),
    gpuCount: z.int().min(1).max(MAX_GPUS_PER_LEASE),
    minTier: z.int().min(1).max(3).openapi({ description: 'Worst acceptable tier: 1 is best; tier k accepts k or better' }),
    maxPricePerGpuHour: TokenAmount,
    durationSeconds: z.int().min(MIN_LEASE_SECONDS).max(MAX_LEASE_SECONDS).optional().openapi({
      description: 'A fixed duration; leave it out for a lease that runs until cancelled or until the allowance runs out',
    }),
    image: z.string().min(1).max(255).regex(/^\S*$/, 'must not contain whitespace').openapi({ example: 'lease-engine/busybox:local' }),
    command: z.array(z.string().max(4096)).max(256).optional().openapi({ example: ['sleep', '3600'] }),
    env: z.record(EnvName, z.string().max(8192)).optional().openapi({ maxProperties: 128, ...ENV_NAMES_DOCUMENTED }),
  })
  .refine((request) => Object.keys(request.env ?? {}).length <= 128, { path: ['env'], message: 'at most 128 variables' })
  .openapi('LeaseRequest');
export type LeaseRequest = z.infer<typeof LeaseRequest>;

export const ExtendLeaseRequest = z
  .strictObject({ seconds: z.int().min(1).max(MAX_EXTEND_SECONDS) })
  .openapi('ExtendLeaseRequest');

export const AssignmentView = z
  .object({
    assignmentId: z.string(),
    gpuId: z.string(),
    hostId: z.string(),
    providerId: z.string(),
    tier: z.int(),
    rank: z.int(),
    pricePerGpuHour: z.string().openapi({ example: '1.25' }),
    epoch: z.int(),
    startedAt: z.iso.datetime(),
    endedAt: Timestamp,
    endReason: z.string().nullable(),
    verifiedSeconds: z.int(),
  })
  .openapi('Assignment');

export const LeaseView = z
  .object({
    id: z.uuid(),
    status: z.enum(LEASE_STATUSES),
    endReason: z.string().nullable(),
    gpuModel: z.string(),
    gpuCount: z.int(),
    minTier: z.int(),
    maxPricePerGpuHour: z.string(),
    durationSeconds: z.int().nullable().openapi({ description: 'null: open-ended' }),
    image: z.string(),
    createdAt: z.iso.datetime(),
    startedAt: Timestamp,
    endsAt: Timestamp,
    endedAt: Timestamp,
    assignments: z.array(AssignmentView),
    failoverCount: z.int(),
  })
  .openapi('Lease');
export type LeaseView = z.infer<typeof LeaseView>;

/** One lease as its own resource: the list view plus its escrow (the list stays one query). */
export const LeaseDetailView = LeaseView.extend({
  escrow: z.union([EscrowView, z.null()]).openapi({ description: 'null until the escrow is opened on-chain' }),
}).openapi('LeaseDetail');
export type LeaseDetailView = z.infer<typeof LeaseDetailView>;

export const LeaseIdParams = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Retry-safe creation: the same key with the same body returns the same lease' }),
});
