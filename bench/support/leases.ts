/** The customer's side of a lease, through the REST API as a customer would drive it. */
import type Docker from 'dockerode';
import type { TestEngine } from './bench-engine';
import { DEMO_IMAGE, SLEEP_FOREVER, waitFor } from './bench-engine';
import { removeContainers, waitForGone } from './containers';
import { sleep } from './lifecycle';

export interface AssignmentView {
  assignmentId: string;
  hostId: string;
  providerId: string;
  tier: number;
  rank: number;
  epoch: number;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
}

export interface LeaseView {
  id: string;
  status: string;
  assignments: AssignmentView[];
}

export const leaseLabel = (leaseId: string): string => `lease-engine.lease=${leaseId}`;

export async function createLease(engine: TestEngine, gpuModel: string, gpuCount: number): Promise<string> {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel, gpuCount, minTier: 1, maxPricePerGpuHour: '100', durationSeconds: 3600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  if (created.status !== 201) throw new Error(`POST /v1/leases answered ${created.status}: ${JSON.stringify(created.body)}`);
  return created.body.id as string;
}

export async function getLease(engine: TestEngine, leaseId: string): Promise<LeaseView> {
  const got = await engine.request('GET', `/v1/leases/${leaseId}`);
  if (got.status !== 200) throw new Error(`GET /v1/leases/${leaseId} answered ${got.status}`);
  return got.body as LeaseView;
}

/** Polls the lease until `accept` holds; returns the wall time it first did and the view. */
export async function pollLease(engine: TestEngine, leaseId: string, accept: (lease: LeaseView) => boolean, timeoutMs: number, what: string): Promise<{ at: number; lease: LeaseView }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lease = await getLease(engine, leaseId);
    if (accept(lease)) return { at: Date.now(), lease };
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (lease ${leaseId} is ${lease.status})`);
    await sleep(50);
  }
}

/**
 * Cancels the lease and waits until it is cancelled and its containers are gone, so that the next
 * repetition starts on an idle machine. `leftoverHosts`: hosts whose agent was killed, whose stale
 * containers nobody will stop (their agent is not coming back).
 */
export async function cancelAndDrain(engine: TestEngine, docker: Docker, leaseId: string, leftoverHosts: string[] = []): Promise<void> {
  const cancelled = await engine.request('POST', `/v1/leases/${leaseId}/cancel`);
  if (cancelled.status !== 200 && cancelled.status !== 202) throw new Error(`cancel answered ${cancelled.status}: ${JSON.stringify(cancelled.body)}`);
  await waitFor(async () => (await getLease(engine, leaseId)).status === 'cancelled', 60_000, `lease ${leaseId} cancelled`);
  await removeContainers(docker, leftoverHosts.map((hostId) => `lease-engine.host=${hostId}`));
  await waitForGone(docker, [leaseLabel(leaseId)], 30_000);
}
