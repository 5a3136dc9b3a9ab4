/**
 * The host's side of the API (DESIGN §8): registration and heartbeats, every request signed with the
 * host key over method, path, timestamp and the exact body bytes sent.
 */
import { z } from 'zod';
import type { ContainerState } from '../../domain/proof-receipt';
import { HOST_SIGNATURE_HEADERS, signRequest } from '../../domain/signed-request';
import { isTier } from '../../domain/tier';

export interface HostRegistration {
  hostId: string;
  publicKey: string;
  gpuSource: 'nvidia-smi' | 'simulated';
  gpus: { id: string; model: string; vramGb: number; pricePerGpuHour: string }[];
}

export interface HostHeartbeat {
  at: number;
  containers: { assignmentId: string; epoch: number; state: ContainerState }[];
}

const registeredSchema = z.object({
  hostId: z.string(),
  providerId: z.string(),
  tier: z.number().refine(isTier, 'tier must be 1, 2 or 3'),
});
export type RegisteredHost = z.infer<typeof registeredSchema>;

const heartbeatAnswerSchema = z.object({
  liveAssignments: z.array(z.object({ assignmentId: z.string(), epoch: z.number().int() })),
});
export type HeartbeatAnswer = z.infer<typeof heartbeatAnswerSchema>;

/** The API answered, and not with success. */
export class HostApiError extends Error {
  override name = 'HostApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
    path: string,
  ) {
    super(`API answered ${status} to ${path}: ${detail}`);
  }

  /** 5xx and 429 may pass; any other refusal will be repeated as long as nothing changes. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

export interface HostApiClientOptions {
  apiUrl: string;
  hostId: string;
  secretKey: Uint8Array;
  /** The provider's API key: proves the host belongs to that provider (registration only). */
  providerKey: string;
  timeoutMs?: number;
}

export class HostApiClient {
  constructor(private readonly options: HostApiClientOptions) {}

  async register(registration: HostRegistration, signal?: AbortSignal): Promise<RegisteredHost> {
    const answer = await this.post('v1/hosts/register', registration, signal, {
      authorization: `Bearer ${this.options.providerKey}`,
    });
    return registeredSchema.parse(answer);
  }

  async heartbeat(heartbeat: HostHeartbeat, signal?: AbortSignal): Promise<HeartbeatAnswer> {
    const answer = await this.post(`v1/hosts/${encodeURIComponent(this.options.hostId)}/heartbeat`, heartbeat, signal);
    return heartbeatAnswerSchema.parse(answer);
  }

  private async post(
    relativePath: string,
    payload: unknown,
    signal: AbortSignal | undefined,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    // Relative to the API URL, so an API mounted under a prefix (behind a proxy) still works.
    const base = this.options.apiUrl.endsWith('/') ? this.options.apiUrl : `${this.options.apiUrl}/`;
    const url = new URL(relativePath, base);
    const path = `${url.pathname}${url.search}`;
    const body = JSON.stringify(payload);
    const timestamp = Date.now();
    const signature = signRequest({ method: 'POST', path, timestamp, body }, this.options.secretKey);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 5_000);
    const response = await fetch(url, {
      method: 'POST',
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: {
        ...headers,
        'content-type': 'application/json',
        [HOST_SIGNATURE_HEADERS.hostId]: this.options.hostId,
        [HOST_SIGNATURE_HEADERS.timestamp]: String(timestamp),
        [HOST_SIGNATURE_HEADERS.signature]: signature,
      },
    });
    const text = await response.text();
    if (!response.ok) throw new HostApiError(response.status, problemDetail(text), path);
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
