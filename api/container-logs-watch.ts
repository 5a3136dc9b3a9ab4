/**
 * Followers of container logs (GET /v1/leases/:id/logs?follow=true). One query per tick reads the last
 * seq of every followed lease, whatever the number of open streams; a stream reads its new lines only
 * when its lease's log moved past its cursor.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { containerLogHeads } from '../infra/db/repositories/container-logs.repo';
import type { Database } from '../infra/db/schema';
import { PollingWatch } from './polling-watch';

export class ContainerLogsWatch extends PollingWatch<number, number> {
  constructor(db: Kysely<Database>, tickMs = 250, log?: Logger) {
    super('container logs', (leaseIds) => containerLogHeads(db, leaseIds), (head, cursor) => (head ?? 0) > cursor, tickMs, log);
  }
}
