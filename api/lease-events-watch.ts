/**
 * Followers of lease events (GET /v1/leases/:id/events as server-sent events). Like the desired-state
 * watch, one query per tick reads where every followed lease's sources stand, whatever the number of
 * open streams; a stream reads its new events only when its lease moved.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { leaseEventHeads } from '../infra/db/repositories/lease-events.repo';
import type { Database } from '../infra/db/schema';
import type { EventCursor } from './lease-events';

/** 'changed': the lease has events after the cursor; 'idle': none within the wait; 'closed': the API is stopping. */
export type WatchOutcome = 'changed' | 'idle' | 'closed';

interface Waiter {
  leaseId: string;
  cursor: EventCursor;
  resolve: (outcome: WatchOutcome) => void;
  timer: NodeJS.Timeout;
}

export class LeaseEventsWatch {
  private readonly waiters = new Set<Waiter>();
  private ticking: NodeJS.Timeout | null = null;
  private reading = false;
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly tickMs = 250,
    private readonly log?: Logger,
  ) {}

  waitForChange(leaseId: string, cursor: EventCursor, waitMs: number, signal?: AbortSignal): Promise<WatchOutcome> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        leaseId,
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

  /** Ends every open stream: server.ts calls it before it closes the server. */
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
      const heads = await leaseEventHeads(this.db, [...new Set([...this.waiters].map((w) => w.leaseId))]);
      for (const waiter of [...this.waiters]) {
        const head = heads.get(waiter.leaseId);
        const { cursor } = waiter;
        if (head && (head.seq > cursor.seq || head.period > cursor.period || (head.escrowOpened && !cursor.escrow))) waiter.resolve('changed');
      }
    } catch (err) {
      // The database is away: streams send their heartbeats and look again.
      this.log?.warn({ err }, 'lease events watch could not read where leases stand');
    } finally {
      this.reading = false;
    }
  }

  private stopTicking(): void {
    if (this.ticking) clearInterval(this.ticking);
    this.ticking = null;
  }
}
