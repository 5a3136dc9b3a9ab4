import { Client, Connection } from '@temporalio/client';

export interface TemporalClients {
  connection: Connection;
  client: Client;
}

export interface ConnectTemporalOptions {
  /** Give up after this long without an answer (default 60 s). */
  timeoutMs?: number;
  /** Called before each retry, e.g. to log that Temporal is not up yet. */
  onRetry?: (attempt: number, error: Error) => void;
  /** Stops retrying (e.g. the server process this waits for has exited). */
  signal?: AbortSignal;
}

/**
 * Connects to a Temporal frontend, retrying until it answers: processes start together with the server
 * (and the launcher restarts the dev server when it dies), so "not up yet" is normal at start-up.
 * Once connected, gRPC reconnects by itself: calls made while the server is down fail and are retried
 * by the SDK's retry policy, and the same Connection works again when the server is back.
 */
export async function connectTemporal(
  address: string,
  namespace: string,
  opts: ConnectTemporalOptions = {},
): Promise<TemporalClients> {
  const connection = await connectWithRetry(address, opts);
  return { connection, client: new Client({ connection, namespace }) };
}

export async function connectWithRetry(address: string, opts: ConnectTemporalOptions = {}): Promise<Connection> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    try {
      // connect() waits for the channel and a getSystemInfo answer, bounded by connectTimeout.
      return await Connection.connect({ address, connectTimeout: Math.max(1_000, Math.min(remaining, 5_000)) });
    } catch (error) {
      if (opts.signal?.aborted) throw new Error(`gave up connecting to Temporal at ${address}: ${String(opts.signal.reason)}`);
      if (Date.now() >= deadline) {
        throw new Error(`Temporal at ${address} did not answer within ${opts.timeoutMs ?? 60_000} ms: ${(error as Error).message}`, {
          cause: error,
        });
      }
      opts.onRetry?.(attempt, error as Error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2_000)));
    }
  }
}
