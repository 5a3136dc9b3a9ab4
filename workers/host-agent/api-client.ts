/**
 * The host's side of the API (DESIGN §8): registration, the desired-state long poll and reports, every
 * request signed with the host key over method, path (with its query), timestamp and the exact body
 * bytes sent. The host needs nothing else: no Temporal, no database.
 */
import { z } from 'zod';
import type { ContainerState, ProofReceipt } from '../../domain/proof-receipt';
import { HOST_SIGNATURE_HEADERS, signRequest } from '../../domain/signed-request';
import { isTier } from '../../domain/tier';
import { nativeEd25519 } from '../../infra/crypto/native-ed25519';

export interface HostRegistration {
  hostId: string;
  publicKey: string;
  gpuSource: 'nvidia-smi' | 'simulated';
  gpus: { id: string; model: string; vramGb: number; pricePerGpuHour: string }[];
}

export interface HostReport {
  containers: { assignmentId: string; epoch: number; state: ContainerState; exitCode?: number; detail?: string }[];
  receipts: ProofReceipt[];
  /** Containers' new stdout and stderr lines, per assignment (docs/host-protocol.md, "Container logs"). */
  logs?: { assignmentId: string; epoch: number; lines: { stream: 'stdout' | 'stderr'; at: number; text: string }[]; dropped?: number }[];
}

const registeredSchema = z.object({
  hostId: z.string(),
  providerId: z.string(),
  tier: z.number().refine(isTier, 'tier must be 1, 2 or 3'),
});
export type RegisteredHost = z.infer<typeof registeredSchema>;

const desiredStateSchema = z.object({
  version: z.number().int(),
  assignments: z.array(
    z.object({
      assignmentId: z.string(),
      leaseId: z.string(),
      epoch: z.number().int(),
      gpuId: z.string(),
      rank: z.number().int(),
      worldSize: z.number().int(),
      headHost: z.string(),
      image: z.string(),
      command: z.array(z.string()).nullable(),
      env: z.record(z.string(), z.string()),
      state: z.enum(['run', 'stop']),
      proofIntervalMs: z.number().int().positive(),
      period: z.number().int(),
      challengeSeed: z.string(),
      chainTip: z.object({ seq: z.number().int(), hash: z.string(), at: z.number().int() }).nullable(),
    }),
  ),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
export type DesiredAssignment = DesiredState['assignments'][number];

const reportAnswerSchema = z.object({
  accepted: z.number().int(),
  rejected: z.array(z.object({ assignmentId: z.string(), seq: z.number().int(), reason: z.string() })),
  tips: z.array(z.object({ assignmentId: z.string(), seq: z.number().int(), hash: z.string() })),
});
export type ReportAnswer = z.infer<typeof reportAnswerSchema>;

/** The API answered, and not with success. */
export class HostApiError extends Error {
  override name = 'HostApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
    path: string,
    /** When the API asked to be asked again (its Retry-After, in ms): a 429, or a 503 for load. */
    readonly retryAfterMs?: number,
  ) {
    super(`API answered ${status} to ${path}: ${detail}`);
  }

  /** 5xx and 429 may pass; any other refusal will be repeated as long as nothing changes. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** Retry-After in delay-seconds (what the API sends), as ms; an HTTP date or anything else is ignored. */
export function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

/** A Retry-After is taken up to this long: a proxy answering "come back in an hour" must not make a host silent that long. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * How long to wait before the next report after `error`: the usual interval `usualMs`, or the API's
 * Retry-After (at most MAX_RETRY_AFTER_MS) when that is longer, plus up to one Retry-After more so that
 * hosts refused together do not come back together. Never sooner than usual: a refused host that came
 * back sooner would add load to an API that refused it for load. Measured: 1,000 simulated hosts coming
 * back after 1–2 s sent 197 refused reports a second against 35 taken (bench/README.md).
 */
export function delayAfterReportError(error: unknown, usualMs: number, random: () => number = Math.random): number {
  const retryAfter = error instanceof HostApiError ? error.retryAfterMs : undefined;
  if (retryAfter === undefined) return usualMs;
  const asked = Math.min(retryAfter, MAX_RETRY_AFTER_MS);
  return Math.max(usualMs, asked) + Math.round(asked * random());
}

/** One HTTP exchange, as the client needs it: the status and the body's text. */
export type HttpTransport = (request: {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
}) => Promise<{ status: number; text: string; retryAfter?: string }>;

/** The global fetch: enough for one agent. The fleet simulator passes pooled keep-alive sockets instead. */
export const fetchTransport: HttpTransport = async ({ url, method, headers, body, signal }) => {
  const response = await fetch(url, { method, headers, body, signal });
  return { status: response.status, text: await response.text(), retryAfter: response.headers.get('retry-after') ?? undefined };
};

export interface HostApiClientOptions {
  apiUrl: string;
  hostId: string;
  secretKey: Uint8Array;
  /** The provider's API key: proves the host belongs to that provider (registration only). */
  providerKey: string;
  timeoutMs?: number;
  /** How requests go out; fetchTransport when absent. */
  transport?: HttpTransport;
}

export class HostApiClient {
  constructor(private readonly options: HostApiClientOptions) {}

  async register(registration: HostRegistration, signal?: AbortSignal): Promise<RegisteredHost> {
    const answer = await this.post('v1/hosts/register', registration, signal, {
      authorization: `Bearer ${this.options.providerKey}`,
    });
    return registeredSchema.parse(answer);
  }

  /** Long poll: answers at once when the API has a version after `after`, else after up to `waitMs`. */
  async desired(after: number, waitMs: number, signal?: AbortSignal): Promise<DesiredState> {
    const path = `v1/hosts/${encodeURIComponent(this.options.hostId)}/desired?after=${after}&waitMs=${waitMs}`;
    const answer = await this.send('GET', path, undefined, signal, {}, waitMs + 10_000);
    return desiredStateSchema.parse(answer);
  }

  async report(report: HostReport, signal?: AbortSignal): Promise<ReportAnswer> {
    const answer = await this.post(`v1/hosts/${encodeURIComponent(this.options.hostId)}/reports`, report, signal);
    return reportAnswerSchema.parse(answer);
  }

  private post(relativePath: string, payload: unknown, signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<unknown> {
    return this.send('POST', relativePath, payload, signal, headers);
  }

  private async send(
    method: 'GET' | 'POST',
    relativePath: string,
    payload: unknown,
    signal: AbortSignal | undefined,
    headers: Record<string, string> = {},
    timeoutMs = this.options.timeoutMs ?? 10_000,
  ): Promise<unknown> {
    // Relative to the API URL, so an API mounted under a prefix (behind a proxy) still works.
    const base = this.options.apiUrl.endsWith('/') ? this.options.apiUrl : `${this.options.apiUrl}/`;
    const url = new URL(relativePath, base);
    const path = `${url.pathname}${url.search}`;
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const timestamp = Date.now();
    const signature = signRequest({ method, path, timestamp, body }, this.options.secretKey, nativeEd25519);
    const timeout = AbortSignal.timeout(timeoutMs);
    const transport = this.options.transport ?? fetchTransport;
    const { status, text, retryAfter } = await transport({
      url,
      method,
      body: payload === undefined ? undefined : body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: {
        ...headers,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        [HOST_SIGNATURE_HEADERS.hostId]: this.options.hostId,
        [HOST_SIGNATURE_HEADERS.timestamp]: String(timestamp),
        [HOST_SIGNATURE_HEADERS.signature]: signature,
      },
    });
    if (status < 200 || status > 299) throw new HostApiError(status, problemDetail(text), path, retryAfterMs(retryAfter));
    return text === '' ? {} : (JSON.parse(text) as unknown);
  }
}

/** The API answers problems as application/problem+json; show its detail, or the raw text. */
function problemDetail(text: string): string {
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    const detail = problem.detail ?? problem.title;
    if (typeof detail === 'string') return detail;
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 300);
}
