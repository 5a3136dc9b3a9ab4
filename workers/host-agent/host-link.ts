/**
 * The host's registration with the API, retried while the API is away; a refusal (4xx) is final.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { HostApiClient, HostRegistration, RegisteredHost } from './api-client';
import { HostApiError } from './api-client';

export interface HostLinkDeps {
  client: HostApiClient;
  registration: HostRegistration;
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

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
