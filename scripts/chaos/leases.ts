/**
 * The customers' side of a chaos run, through the public API as a customer's script would drive it: an API
 * process may be dead at any moment, so every call is retried until an API answers, and a lease is created
 * with an Idempotency-Key so that a retried POST can never open a second lease.
 */
import { randomUUID } from 'node:crypto';
import { DEMO_PROVIDERS } from '../launcher/demo-fleet';
import type { Random } from './prng';
import { waitUntil } from './stack';

export interface LeasePlan {
  /** Sent as the Idempotency-Key. */
  key: string;
  customerKey: string;
  gpuModel: string;
}

/** The demo fleet's tier-1 RTX4090s (two hosts of four): what leases on its host agents can be placed on. */
const AGENT_RTX4090S = DEMO_PROVIDERS.filter((p) => p.tier === 1)
  .flatMap((p) => p.hosts.flatMap((h) => h.gpus.filter((g) => g.model === 'RTX4090').map((g) => g.count)))
  .reduce((a, b) => a + b, 0);

/**
 * Leases on the demo fleet's host agents (real containers): a quarter of them, at least one, at most half
 * the agents' RTX4090s, so that each can fail over once onto the other provider's.
 */
export function leasesOnAgents(count: number): number {
  return Math.min(Math.max(1, Math.round(count / 4)), Math.floor(AGENT_RTX4090S / 2));
}

/**
 * Models for `count` leases: leasesOnAgents of them RTX4090 (which only the demo fleet's host agents have), the
 * rest H100s, which the fleet simulator's hosts sell cheapest.
 */
export function planLeases(count: number, customerKeys: string[], random: Random): LeasePlan[] {
  const onAgents = leasesOnAgents(count);
  const models = random.shuffle(Array.from({ length: count }, (_, i) => (i < onAgents ? 'RTX4090' : 'H100')));
  return models.map((gpuModel, i) => ({ key: `chaos-${randomUUID()}`, customerKey: customerKeys[i % customerKeys.length]!, gpuModel }));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the driver reads JSON answers field by field
export type Answer = { status: number; body: any };

/** One call, retried while no API answers well (connection refused or reset, a 5xx) for up to `timeoutMs`. */
export async function call(apiUrl: string, apiKey: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {},
  timeoutMs = 60_000): Promise<Answer> {
  return waitUntil(async () => {
    const response = await fetch(`${apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      // Cancel is a workflow update: it answers once the workflow accepted it, which takes a while on a loaded machine.
      signal: AbortSignal.timeout(30_000),
    });
    // Any 5xx is retried, as a customer's script with an Idempotency-Key would: while PostgreSQL restarts the API
    // answers 500 (not 503), and the balancer 502 while an API process is down. One that never ends is reported.
    if (response.status >= 500) throw new Error(`${method} ${url} answered ${response.status}: ${await response.text()}`);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }, timeoutMs, `${method} ${url} answered`, undefined, 35_000);
}

export async function createLease(apiUrl: string, plan: LeasePlan): Promise<string> {
  const created = await call(apiUrl, plan.customerKey, 'POST', '/v1/leases', {
    gpuModel: plan.gpuModel, gpuCount: 1, minTier: 1, maxPricePerGpuHour: '5.00', durationSeconds: 3600,
    image: 'lease-engine/busybox:local', command: ['sh', '-c', 'while true; do sleep 1; done'],
  }, { 'idempotency-key': plan.key });
  if (created.status !== 201 && created.status !== 200) throw new Error(`POST /v1/leases answered ${created.status}: ${JSON.stringify(created.body)}`);
  return created.body.id as string;
}

/** Cancels the lease; 200/202 accepted, 409 ended already (say the fleet could not hold it); anything else throws. */
export async function cancelLease(apiUrl: string, customerKey: string, leaseId: string): Promise<number> {
  const answer = await call(apiUrl, customerKey, 'POST', `/v1/leases/${leaseId}/cancel`, undefined, {}, 180_000);
  if (![200, 202, 409].includes(answer.status)) throw new Error(`POST /v1/leases/${leaseId}/cancel answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.status;
}

export async function leaseStatus(apiUrl: string, customerKey: string, leaseId: string): Promise<{ status: string; endReason: string | null }> {
  const got = await call(apiUrl, customerKey, 'GET', `/v1/leases/${leaseId}`);
  if (got.status !== 200) throw new Error(`GET /v1/leases/${leaseId} answered ${got.status}`);
  return { status: got.body.status as string, endReason: (got.body.endReason ?? null) as string | null };
}
