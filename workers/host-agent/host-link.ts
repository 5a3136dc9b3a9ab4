/**
 * The host's standing with the API: register (retrying while the API is away), then heartbeat and
 * reconcile for as long as the agent runs. The heartbeat is what keeps this host's GPUs eligible and
 * its assignments from failing over; its answer says which containers may keep running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { HostApiClient, HostRegistration, RegisteredHost } from './api-client';
import { HostApiError } from './api-client';
import type { DockerRuntime } from './docker-runtime';
import { decideReconcile } from './reconcile';

export interface HostLinkDeps {
  client: HostApiClient;
  runtime: DockerRuntime;
  registration: HostRegistration;
  heartbeatIntervalMs: number;
  /** A container younger than this is not stopped for being unknown to the API (see decideReconcile). */
  reconcileGraceMs: number;
  logger: Logger;
}

const MAX_BACKOFF_MS = 10_000;

/** Registers, retrying with backoff on network errors and 5xx; a refusal (4xx) is final and thrown. */
export async function registerUntilAccepted(deps: HostLinkDeps, signal: AbortSignal): Promise<RegisteredHost> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const registered = await deps.client.register(deps.registration, signal);
      deps.logger.info({ ...registered, gpus: deps.registration.gpus.length }, 'host registered');
      return registered;
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof HostApiError && !error.transient) throw error;
      const delayMs = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt - 1, 6));
      deps.logger.warn({ err: describe(error), attempt, retryInMs: delayMs }, 'registration failed; retrying');
      await sleep(delayMs, undefined, { signal });
    }
  }
}

/**
 * Heartbeats every interval until `signal` aborts. Never throws for a failed beat: the API being
 * away for a while must not take the host's running containers down with it.
 */
export async function heartbeatUntilStopped(deps: HostLinkDeps, signal: AbortSignal): Promise<void> {
  const stopping = new Set<string>();
  while (!signal.aborted) {
    try {
      await beatOnce(deps, stopping, signal);
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof HostApiError && (error.status === 401 || error.status === 404)) {
        // The API no longer knows this host (its database was reset, or the host was removed): join again.
        deps.logger.warn({ err: describe(error) }, 'heartbeat refused; registering again');
        await registerUntilAccepted(deps, signal).catch((err: unknown) => {
          if (!signal.aborted) deps.logger.error({ err: describe(err) }, 'registration refused');
        });
      } else {
        deps.logger.warn({ err: describe(error) }, 'heartbeat failed');
      }
    }
    await sleep(deps.heartbeatIntervalMs, undefined, { signal }).catch(() => undefined);
  }
}

async function beatOnce(deps: HostLinkDeps, stopping: Set<string>, signal: AbortSignal): Promise<void> {
  const containers = await deps.runtime.listLeaseContainers();
  const answer = await deps.client.heartbeat(
    {
      at: Date.now(),
      containers: containers.map(({ assignmentId, epoch, state }) => ({ assignmentId, epoch, state })),
    },
    signal,
  );
  const decision = decideReconcile(containers, answer.liveAssignments, Date.now(), deps.reconcileGraceMs);
  for (const { container, reason } of decision.stop) {
    if (stopping.has(container.containerId)) continue;
    stopping.add(container.containerId);
    deps.logger.info(
      { assignmentId: container.assignmentId, epoch: container.epoch, leaseId: container.leaseId, reason },
      'stopping container that is no longer live',
    );
    // In the background: a 5 s graceful stop must not delay the next heartbeat.
    void deps.runtime
      .stopAndRemove(container.containerId)
      .catch((err: unknown) => deps.logger.error({ err: describe(err), containerId: container.containerId }, 'stop failed'))
      .finally(() => stopping.delete(container.containerId));
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
