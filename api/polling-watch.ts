/**
 * Waiting on PostgreSQL for something another process writes (a host's desired state, a lease's
 * events): one query per tick reads where every watched key stands, whatever the number of waiters,
 * and each waiter is released as soon as its key moved past its cursor. Cheap when idle (no tick runs
 * without a waiter) and bounded under load (one query per tick per API process).
 */
import type { Logger } from 'pino';

/** 'changed': the key moved past the cursor; 'idle': not within the wait; 'closed': the API is stopping (or the caller left). */
export type WatchOutcome = 'changed' | 'idle' | 'closed';

interface Waiter<Cursor> {
  key: string;
  cursor: Cursor;
  resolve: (outcome: WatchOutcome) => void;
  timer: NodeJS.Timeout;
}

export class PollingWatch<Cursor, Head> {
  private readonly waiters = new Set<Waiter<Cursor>>();
  private ticking: NodeJS.Timeout | null = null;
  private reading = false;
  private closed = false;

  constructor(
    private readonly what: string,
    /** Where each of these keys stands now (one query for all). */
    private readonly read: (keys: string[]) => Promise<Map<string, Head>>,
    /** Whether a key standing at `head` has moved past `cursor`. */
    private readonly moved: (head: Head | undefined, cursor: Cursor) => boolean,
    private readonly tickMs: number,
    private readonly log?: Logger,
  ) {}

  waitForChange(key: string, cursor: Cursor, waitMs: number, signal?: AbortSignal): Promise<WatchOutcome> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const waiter: Waiter<Cursor> = {
        key,
        cursor,
        resolve: (outcome) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(outcome);
        },
        timer: setTimeout(() => waiter.resolve('idle'), waitMs),
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', () => waiter.resolve('closed'), { once: true });
      this.ticking ??= setInterval(() => void this.tick(), this.tickMs).unref();
    });
  }

  /** Releases every waiter: server.ts calls it before it closes the server. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.resolve('closed');
    this.stopTicking();
  }

  private async tick(): Promise<void> {
    if (this.waiters.size === 0) return this.stopTicking();
    if (this.reading) return;
    this.reading = true;
    try {
      const heads = await this.read([...new Set([...this.waiters].map((w) => w.key))]);
      for (const waiter of [...this.waiters]) {
        if (this.moved(heads.get(waiter.key), waiter.cursor)) waiter.resolve('changed');
      }
    } catch (err) {
      // The database is away: waiters time out (or heartbeat) and look again.
      this.log?.warn({ err }, `${this.what} watch could not read where its keys stand`);
    } finally {
      this.reading = false;
    }
  }

  private stopTicking(): void {
    if (this.ticking) clearInterval(this.ticking);
    this.ticking = null;
  }
}
