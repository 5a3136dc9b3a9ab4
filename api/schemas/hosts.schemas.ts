/** Host registration, desired state and reports (signed by the host key), and the host listing. */
import { isSoundPublicKey } from '../../domain/host-key';
import { RECEIPT_VERSION } from '../../domain/proof-receipt';
import { MAX_LOG_LINE_BYTES, MAX_REPORT_LOG_LINES, utf8Bytes } from '../../domain/container-logs';
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
      // Only a base58 key is checked for soundness: one message per problem.
      .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, { error: 'must be a base58 ed25519 public key', abort: true })
      .refine(isSoundPublicKey, 'must be a sound ed25519 public key: canonical, on the curve, not of small order')
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

const Id = (what: string) =>
  z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, `${what}: letters, digits, ".", "_", ":" or "-"`);
const Count = z.int().min(0).max(2_147_483_647);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
/** Unix ms between 2000 and 2100: wide enough for any real clock, narrow enough for every store. */
const UnixMs = z.int().min(946_684_800_000).max(4_102_444_800_000);
const ContainerStateEnum = z.enum(['running', 'exited', 'missing']);

const GpuTelemetry = z.strictObject({
  source: z.enum(['nvidia-smi', 'simulated']),
  name: z.string().max(128),
  utilizationPct: z.number().min(0).max(100),
  memoryUsedMiB: z.number().min(0).max(16_777_216),
  memoryTotalMiB: z.number().min(0).max(16_777_216),
  temperatureC: z.number().min(-100).max(250),
  powerW: z.number().min(0).max(100_000),
});

/** domain/proof-receipt.ts ProofReceipt, version RECEIPT_VERSION (2): the provider-facing wire format. */
export const ProofReceiptSchema = z
  .strictObject({
    body: z.strictObject({
      version: z.literal(RECEIPT_VERSION),
      leaseId: Id('leaseId'),
      assignmentId: Id('assignmentId'),
      epoch: Count,
      hostId: Id('hostId'),
      gpuId: Id('gpuId'),
      seq: Count,
      at: UnixMs.openapi({ description: 'Host clock, unix ms' }),
      period: Count,
      containerState: ContainerStateEnum,
      telemetry: GpuTelemetry,
      prevHash: Hex64,
      challenge: z.strictObject({ seed: z.string().min(1).max(64), answer: Hex64 }),
    }),
    hash: Hex64.openapi({ description: 'sha256 of the canonical JSON of body' }),
    signature: z.string().regex(/^[0-9a-f]{128}$/, 'must be a 64-byte ed25519 signature in hex'),
  })
  .openapi('ProofReceipt');

/** A report's receipts at most: about a minute of one busy host's chains; an agent sends the rest next time. */
export const MAX_REPORT_RECEIPTS = 256;

const LOG_LINE_TOO_LONG = `must be at most ${MAX_LOG_LINE_BYTES} UTF-8 bytes: cut longer lines`;

/** One assignment's new container output, oldest first (docs/host-protocol.md, "Container logs"). */
const ContainerLogBatch = z.strictObject({
  assignmentId: Id('assignmentId'),
  epoch: Count,
  lines: z
    .array(
      z.strictObject({
        stream: z.enum(['stdout', 'stderr']),
        at: UnixMs.openapi({ description: 'When the container wrote the line (host clock, unix ms)' }),
        // A UTF-16 length bounds the UTF-8 one from below: the cheap check first, then the exact one.
        text: z
          .string()
          .max(MAX_LOG_LINE_BYTES, LOG_LINE_TOO_LONG)
          .refine((text) => utf8Bytes(text) <= MAX_LOG_LINE_BYTES, LOG_LINE_TOO_LONG)
          .refine((text) => !text.includes('\u0000'), 'must not contain NUL (U+0000): no store keeps it'),
      }),
    )
    .max(MAX_REPORT_LOG_LINES, `at most ${MAX_REPORT_LOG_LINES} lines per report`),
  dropped: Count.optional().openapi({ description: 'Lines the host dropped before these (its buffer was full)' }),
});

export const HostReportRequest = z
  .strictObject({
    containers: z
      .array(
        z.strictObject({
          assignmentId: Id('assignmentId'),
          epoch: Count,
          state: ContainerStateEnum,
          exitCode: z.int().min(-2_147_483_648).max(2_147_483_647).optional(),
          detail: z.string().max(512).optional().openapi({ description: 'Why a container is not running, e.g. a missing image' }),
        }),
      )
      .max(1024),
    receipts: z.array(ProofReceiptSchema).max(MAX_REPORT_RECEIPTS),
    logs: z.array(ContainerLogBatch).max(1024).optional().openapi({ description: 'Containers’ stdout and stderr since the last report' }),
  })
  .superRefine((report, ctx) => {
    const logs = report.logs ?? [];
    const lineCount = logs.reduce((sum, batch) => sum + batch.lines.length, 0);
    if (lineCount > MAX_REPORT_LOG_LINES) {
      ctx.addIssue({ code: 'custom', path: ['logs'], message: `${lineCount} lines: at most ${MAX_REPORT_LOG_LINES} per report, over all assignments` });
    }
    const batches = new Set<string>();
    logs.forEach((batch, index) => {
      if (batches.has(batch.assignmentId)) ctx.addIssue({ code: 'custom', path: ['logs', index, 'assignmentId'], message: `duplicate batch for ${batch.assignmentId}` });
      batches.add(batch.assignmentId);
    });
    const seen = new Set<string>();
    report.receipts.forEach((receipt, index) => {
      const key = `${receipt.body.assignmentId}/${receipt.body.seq}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['receipts', index, 'body', 'seq'], message: `duplicate receipt ${key}` });
      seen.add(key);
    });
  })
  .openapi('HostReportRequest');
export type HostReportRequest = z.infer<typeof HostReportRequest>;

export const HostReportResponse = z
  .object({
    accepted: z.int(),
    rejected: z.array(z.object({ assignmentId: z.string(), seq: z.int(), reason: z.string() })),
    tips: z
      .array(z.object({ assignmentId: z.string(), seq: z.int(), hash: z.string() }))
      .openapi({ description: 'Where each chain continues: the last accepted receipt' }),
    logs: z
      .object({
        stored: z.int(),
        dropped: z.int().openapi({ description: 'Lines over the assignment’s rate bound: not stored, marked in the log' }),
        ignored: z.array(z.object({ assignmentId: z.string(), reason: z.string() })).openapi({ description: 'Batches of assignments that ended' }),
      })
      .optional(),
  })
  .openapi('HostReportResponse');

export const DesiredStateQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0)
    .openapi({ description: 'The version the host has; the answer waits until a newer one exists' }),
  waitMs: z.coerce.number().int().min(0).max(30_000).default(0).openapi({ description: 'How long to wait for a change, ≤ 30000' }),
});

export const DesiredStateResponse = z
  .object({
    version: z.int(),
    assignments: z.array(
      z.object({
        assignmentId: z.string(),
        leaseId: z.string(),
        epoch: z.int(),
        gpuId: z.string(),
        rank: z.int(),
        worldSize: z.int(),
        headHost: z.string(),
        image: z.string(),
        command: z.array(z.string()).nullable(),
        env: z.record(z.string(), z.string()),
        state: z.enum(['run', 'stop']),
        proofIntervalMs: z.int(),
        period: z.int(),
        challengeSeed: z.string(),
        chainTip: z.object({ seq: z.int(), hash: z.string(), at: z.int() }).nullable(),
      }),
    ),
  })
  .openapi('DesiredState');

export const HostIdParams = z.object({ hostId: HostId.openapi({ param: { name: 'hostId', in: 'path' } }) });

export const HostView = z
  .object({
    hostId: z.string(),
    providerId: z.string(),
    providerName: z.string(),
    tier: z.int(),
    status: z.enum(['online', 'lost', 'offline']),
    gpuSource: z.enum(['nvidia-smi', 'simulated']),
    lastHeartbeatAt: Timestamp.openapi({ description: 'The host\'s last registration or report, ISO 8601' }),
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
