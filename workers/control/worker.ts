/**
 * The control-plane worker: runs lease workflows and the control activities (PostgreSQL) on
 * `lease-control`. Shared by the process entry point and the tests, so both run the same wiring.
 */
import path from 'node:path';
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
import type { Database } from '../../infra/db/schema';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../../workflows/index.ts');

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
}

export async function createControlWorker(deps: ControlWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? CONTROL_TASK_QUEUE,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: { ...createControlActivities({ db: deps.db, log: deps.log }), ...heartbeating(createEscrowActivities(deps.escrow)) },
  });
}
