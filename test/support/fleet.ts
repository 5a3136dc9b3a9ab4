/**
 * A fleet for tests of the fleet monitor: hosts with one running assignment each, heard through the API's own
 * report path, and a monitor whose fault signals are recorded instead of sent to Temporal, with its metrics.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { acceptReport } from '../../api/host-reports';
import { recordApiAlive } from '../../infra/db/repositories/api-liveness.repo';
import type { Database } from '../../infra/db/schema';
import type { FleetMonitorOptions } from '../../workers/control/fleet-monitor';
import { startFleetMonitor } from '../../workers/control/fleet-monitor';
import { createControlMetrics } from '../../workers/control/metrics';
import type { TestAssignment } from './assignments';
import { openTestAssignment, reservedGpu } from './assignments';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from './seed';

/**
 * `sizes[i]` hosts of provider i, one running assignment each (running for two minutes, its last receipt accepted
 * now), every host heard now; the API up for ten minutes, so silence from here on is the hosts' own.
 */
export async function seedRunningFleet(db: Kysely<Database>, sizes: number[]): Promise<TestAssignment[][]> {
  const customerId = await seedCustomer(db);
  const fleet: TestAssignment[][] = [];
  for (const size of sizes) {
    const providerId = await seedProvider(db, 1);
    const hosts: TestAssignment[] = [];
    for (let i = 0; i < size; i++) {
      const hostId = await seedHost(db, { providerId });
      const [gpuId] = await seedGpus(db, { hostId });
      const a = await openTestAssignment(db, await seedLease(db, customerId), reservedGpu(gpuId!, hostId, providerId), { epoch: 1 });
      await acceptReport(db, hostId, { containers: [{ assignmentId: a.assignmentId, epoch: 1, state: 'running' }], receipts: [] });
      hosts.push(a);
    }
    fleet.push(hosts);
  }
  await db.updateTable('assignments').set({ running_at: new Date(Date.now() - 120_000), last_receipt_at: new Date() }).execute();
  await recordApiAlive(db, 'fleet-test', new Date(Date.now() - 600_000));
  return fleet;
}

/** Marks each host last heard that many seconds ago. */
export async function lastHeard(db: Kysely<Database>, hosts: TestAssignment[], secondsAgo: number): Promise<void> {
  if (hosts.length === 0) return;
  await db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - secondsAgo * 1000) }).where('id', 'in', hosts.map((a) => a.hostId)).execute();
}

export interface WatchedFleet {
  /** The assignment of every fault signalled, in order (a fault signalled again appears again). */
  signals: string[];
  massSilenceTicks(): Promise<number>;
  judgedTimeoutSeconds(): Promise<number>;
  /** Waits (50 ms at a time, up to `ms`) until `done` holds; true when it did. */
  until(done: () => boolean | Promise<boolean>, ms?: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** A fleet monitor ticking every 50 ms over `db`, its fault signals recorded rather than sent. */
export function watchFleet(db: Kysely<Database>, options: Pick<FleetMonitorOptions, 'heartbeatTimeoutSeconds'> & Partial<FleetMonitorOptions>): WatchedFleet {
  const signals: string[] = [];
  const client = { workflow: { getHandle: () => ({ signal: async (_def: unknown, arg: { assignmentId: string }) => void signals.push(arg.assignmentId) }) } } as unknown as Client;
  const metrics = createControlMetrics({ processMetrics: false });
  const monitor = startFleetMonitor({ db, client, tickMs: 50, metrics, ...options });
  const gauge = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  return {
    signals,
    massSilenceTicks: () => gauge('lease_engine_fleet_mass_silence_ticks_total'),
    judgedTimeoutSeconds: () => gauge('lease_engine_fleet_judged_timeout_seconds'),
    async until(done, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!(await done())) {
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return true;
    },
    stop: () => monitor.stop(),
  };
}
