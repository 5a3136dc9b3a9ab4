/**
 * The control-plane activities (task queue `lease-control`), one module per concern, wired from
 * their dependencies so the worker and the tests build them the same way.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../infra/db/schema';
import type { ControlActivityMetrics } from './activity-metrics';
import type { ControlActivities } from './contracts';
import { createInventoryActivities } from './inventory.activities';
import { createLeaseRecordActivities } from './lease-records.activities';
import { createAssignmentActivities } from './assignments.activities';

export interface ControlActivityDeps {
  db: Kysely<Database>;
  log?: Logger;
  /** How often a dispatch looks at the hosts' reports, ms. Default 100. */
  pollMs?: number;
  /** The control worker's `/metrics`; absent, nothing is measured. */
  metrics?: ControlActivityMetrics;
}

export function createControlActivities(deps: ControlActivityDeps): ControlActivities {
  return {
    ...createInventoryActivities(deps),
    ...createLeaseRecordActivities(deps),
    ...createAssignmentActivities(deps),
  };
}
