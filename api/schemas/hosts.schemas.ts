/** Host registration and heartbeats (signed by the host key), and the host listing. */
import { z } from '../zod';
import { Timestamp, TokenAmount } from './common.schemas';

/** Host ids become Temporal task queue names (`host-<id>`): keep them plain. */
export const HostId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

const GpuDeclaration = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"')
      .openapi({ description: 'Globally unique, e.g. the nvidia-smi GPU UUID' }),
    model: z.string().min(1).max(64),
    vramGb: z.int().min(1).max(4096),
    pricePerGpuHour: TokenAmount,
  })
  .openapi('GpuDeclaration');

export const RegisterHostRequest = z
  .strictObject({
    hostId: HostId,
    publicKey: z
      .string()
      .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'must be a base58 ed25519 public key')
      .openapi({ description: 'The host key (a Solana address) that signs its requests and receipts' }),
    gpuSource: z.enum(['nvidia-smi', 'simulated']),
    gpus: z.array(GpuDeclaration).min(1).max(64),
  })
  .superRefine((request, ctx) => {
    const seen = new Set<string>();
    request.gpus.forEach((gpu, index) => {
      if (seen.has(gpu.id)) ctx.addIssue({ code: 'custom', path: ['gpus', index, 'id'], message: `duplicate GPU id ${gpu.id}` });
      seen.add(gpu.id);
    });
  })
  .openapi('RegisterHostRequest');
export type RegisterHostRequest = z.infer<typeof RegisterHostRequest>;

export const RegisterHostResponse = z
  .object({ hostId: z.string(), providerId: z.string(), tier: z.int() })
  .openapi('RegisterHostResponse');

export const HeartbeatRequest = z
  .strictObject({
    at: z.int().min(0).openapi({ description: 'Host clock, unix ms' }),
    containers: z
      .array(
        z.strictObject({
          assignmentId: z.string().min(1).max(128),
          epoch: z.int().min(0),
          state: z.enum(['running', 'exited', 'missing']),
        }),
      )
      .max(1024),
  })
  .openapi('HeartbeatRequest');

export const HeartbeatResponse = z
  .object({
    liveAssignments: z
      .array(z.object({ assignmentId: z.string(), epoch: z.int() }))
      .openapi({ description: 'Assignments the host should run; any other container of a lease is stale and must stop' }),
  })
  .openapi('HeartbeatResponse');

export const HostIdParams = z.object({ hostId: HostId.openapi({ param: { name: 'hostId', in: 'path' } }) });

export const HostView = z
  .object({
    hostId: z.string(),
    providerId: z.string(),
    providerName: z.string(),
    tier: z.int(),
    status: z.enum(['online', 'lost', 'offline']),
    gpuSource: z.enum(['nvidia-smi', 'simulated']),
    lastHeartbeatAt: Timestamp,
    gpus: z.array(
      z.object({
        id: z.string(),
        model: z.string(),
        vramGb: z.int(),
        pricePerGpuHour: z.string(),
        status: z.enum(['free', 'reserved', 'offline']),
      }),
    ),
  })
  .openapi('Host');
export type HostView = z.infer<typeof HostView>;

export const HostSignatureHeaders = z.object({
  'x-host-id': z.string(),
  'x-host-timestamp': z.string().openapi({ description: 'Unix ms when the host signed the request' }),
  'x-host-signature': z.string().openapi({ description: 'Hex ed25519 signature over method, path, timestamp and the raw body' }),
});
