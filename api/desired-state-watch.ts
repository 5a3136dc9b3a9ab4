/**
 * Long polls of hosts' desired state (DESIGN §2.3). The control workers change it in PostgreSQL; this
 * process learns of a change from the hosts' versions, read for every waiting host in one query per
 * tick, so a change reaches its host within a tick plus a request.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../infra/db/schema';
import { desiredVersions } from '../infra/db/repositories/desired-state.repo';
import { PollingWatch } from './polling-watch';

export class DesiredStateWatch {
  private readonly watch: PollingWatch<number, number>;

  constructor(db: Kysely<Database>, tickMs = 50, log?: Logger) {
    this.watch = new PollingWatch('desired-state', (hostIds) => desiredVersions(db, hostIds), (version, after) => (version ?? 0) > after, tickMs, log);
  }

  /** Resolves true once the host's version passes `after`, false after `waitMs` without a change (or when closed). */
  async waitForChange(hostId: string, after: number, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    return (await this.watch.waitForChange(hostId, after, waitMs, signal)) === 'changed';
  }

  close(): void {
    this.watch.close();
  }
}
