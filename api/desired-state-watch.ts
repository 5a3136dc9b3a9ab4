/**
 * Long polls of hosts' desired state (DESIGN §2.3). The control workers change it in PostgreSQL; this
 * process learns of a change by reading the versions of every host waiting on it in one query per
 * tick, so the cost is one small query per tick whatever the number of waiting hosts, and a change
 * reaches its host within a tick plus a request.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../infra/db/schema';
import { desiredVersions } from '../infra/db/repositories/desired-state.repo';

interface Waiter {
  hostId: string;
  after: number;
  resolve: (changed: boolean) => void;
  timer: NodeJS.Timeout;
}

export class DesiredStateWatch {
  private readonly waiters = new Set<Waiter>();
  private ticking: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly tickMs = 50,
    private readonly log?: Logger,
  ) {}

  /** Resolves true once the host's version passes `after`, false after `waitMs` without a change (or when closed). */
  waitForChange(hostId: string, after: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        hostId,
        after,
        resolve: (changed) => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve(changed);
        },
        timer: setTimeout(() => waiter.resolve(false), waitMs),
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', () => waiter.resolve(false), { once: true });
      this.ticking ??= setInterval(() => void this.tick(), this.tickMs).unref();
    });
  }

  close(): void {
    for (const waiter of [...this.waiters]) waiter.resolve(false);
    this.stopTicking();
  }

  private async tick(): Promise<void> {
    if (this.waiters.size === 0) return this.stopTicking();
    if (this.reading) return;
    this.reading = true;
    try {
      const versions = await desiredVersions(this.db, [...new Set([...this.waiters].map((w) => w.hostId))]);
      for (const waiter of [...this.waiters]) {
        if ((versions.get(waiter.hostId) ?? 0) > waiter.after) waiter.resolve(true);
      }
    } catch (err) {
      // The database is away: the waiters time out and their hosts ask again.
      this.log?.warn({ err }, 'desired-state watch could not read versions');
    } finally {
      this.reading = false;
    }
  }

  private stopTicking(): void {
    if (this.ticking) clearInterval(this.ticking);
    this.ticking = null;
  }
}
