/**
 * The control-plane worker: runs lease workflows and the control activities (PostgreSQL) on
 * `lease-control`. Shared by the process entry point and the tests, so both run the same wiring.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { CONTROL_TASK_QUEUE } from '../../activities/contracts';
import { createControlActivities } from '../../activities/control';
import type { EscrowActivityDeps } from '../../activities/escrow-context';
import { createEscrowActivities } from '../../activities/escrow.activities';
import { heartbeating } from '../../activities/heartbeating';
import type { ControlActivityMetrics } from '../../activities/activity-metrics';
import type { Database } from '../../infra/db/schema';
import { WORKFLOWS_PATH } from './workflow-bundle';

export { WORKFLOWS_PATH };

export interface ControlWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Kysely<Database>;
  /** The chain side: every lease locks, settles and refunds its money through these. */
  escrow: EscrowActivityDeps;
  log?: Logger;
  taskQueue?: string;
  /** A pre-built bundle (tests bundle once per file); built from WORKFLOWS_PATH otherwise. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The control worker's `/metrics` (workers/control/metrics.ts): failover durations and settlement lag. */
  metrics?: ControlActivityMetrics;
}

export async function createControlWorker(deps: ControlWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? CONTROL_TASK_QUEUE,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: {
      ...createControlActivities({ db: deps.db, log: deps.log, metrics: deps.metrics }),
      ...heartbeating(createEscrowActivities({ ...deps.escrow, metrics: deps.metrics })),
    },
  });
}
