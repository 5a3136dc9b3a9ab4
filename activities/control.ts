/**
 * The control-plane activities (task queue `lease-control`), one module per concern, wired from
 * their dependencies so the worker and the tests build them the same way.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../infra/db/schema';
import type { ControlActivities } from './contracts';
import { createInventoryActivities } from './inventory.activities';
import { createLeaseRecordActivities } from './lease-records.activities';
import { createProofActivities } from './proofs.activities';

export interface ControlActivityDeps {
  db: Kysely<Database>;
  log?: Logger;
  /** Share of challenge answers the verifier recomputes; the last receipt of a batch always is. Default 0.25. */
  challengeSampleRate?: number;
}

export function createControlActivities(deps: ControlActivityDeps): ControlActivities {
  return {
    ...createInventoryActivities(deps),
    ...createLeaseRecordActivities(deps),
    ...createProofActivities(deps),
  };
}
