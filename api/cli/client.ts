/**
 * The REST API as the CLI sees it: JSON requests that answer the body or throw a CliError carrying the
 * problem's words and the exit code for its status, and a lease's events as server-sent events that
 * resume from the last id after a dropped connection.
 */
import { CliError, EXIT, exitCodeForStatus, hintForStatus } from './errors';
import type { ServerSentEvent } from './sse';
import { SseParser } from './sse';

export interface ApiClientOptions {
  apiUrl: string;
  apiKey?: string;
  fetch?: typeof fetch;
}

export interface FollowOptions {
  /** Resume after this event id. */
  after?: string;
  /** Reconnections in a row before giving up. */
  retries?: number;
  retryMs?: number;
}

export class ApiClient {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}), ...extra };
  }

  private async send(method: string, path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(`${this.options.apiUrl}${path}`, { method, ...init });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the API at ${this.options.apiUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}): `
          + 'is it running? pass --api-url or set LEASE_ENGINE_API_URL',
        EXIT.other,
      );
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are printed or read field by field
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
    const res = await this.send(method, path, {
      headers: this.headers({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed;
    throw problemError(res.status, parsed, text);
  }

  /**
   * The lease's events, stored ones first, until the stream's `end`. A dropped connection is resumed from
   * the last id received, up to `retries` times in a row.
   */
  events(leaseId: string, opts: FollowOptions = {}): AsyncGenerator<ServerSentEvent> {
    return this.follow(`/v1/leases/${encodeURIComponent(leaseId)}/events`, `lease-engine lease watch ${leaseId}`, opts);
  }

  /** The lease's container log lines as `log` events, from `opts.after` (a seq), until the stream's `end`. */
  logs(leaseId: string, query: { rank?: number }, opts: FollowOptions = {}): AsyncGenerator<ServerSentEvent> {
    const params = new URLSearchParams({ follow: 'true', ...(query.rank !== undefined ? { rank: String(query.rank) } : {}) });
    return this.follow(`/v1/leases/${encodeURIComponent(leaseId)}/logs?${params}`, `lease-engine lease logs -f ${leaseId}`, opts);
  }

  /** A server-sent event stream, resumed with Last-Event-ID after a dropped connection. */
  private async *follow(path: string, rerun: string, opts: FollowOptions): AsyncGenerator<ServerSentEvent> {
    let lastId = opts.after;
    let failures = 0;
    for (;;) {
      let res: Response;
      try {
        res = await this.send('GET', path, {
          headers: this.headers({ accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }),
        });
      } catch (err) {
        if (++failures > (opts.retries ?? 5)) throw err;
        await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? 1000));
        continue;
      }
      if (!res.ok) {
        const text = await res.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        throw problemError(res.status, parsed, text);
      }
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
            failures = 0;
            if (event.id) lastId = event.id;
            yield event;
            if (event.event === 'end') return;
          }
        }
      } catch {
        // The connection dropped mid-stream: resume below.
      }
      if (++failures > (opts.retries ?? 5)) {
        throw new CliError(`the stream ${path} keeps closing; run \`${rerun}\` again`, EXIT.other);
      }
      await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? 1000));
    }
  }
}

function problemError(status: number, parsed: unknown, text: string): CliError {
  const problem = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  const detail = typeof problem?.detail === 'string' ? problem.detail : text.trim() || `HTTP ${status}`;
  return new CliError(`${detail}${hintForStatus(status)}`, exitCodeForStatus(status), problem ?? { status, detail });
}
