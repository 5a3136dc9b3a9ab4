/**
 * The worst provider against the mass-silence rule (domain/fleet-silence.ts): one that holds most of the fleet
 * and goes silent, or keeps reporting but withholds its receipts, must not hold judgement for everyone. Its
 * hosts are judged as any silent host is, and its leases failed over; the other providers' are untouched. The
 * same silence spread over every provider is still held, as the engine's own failure.
 */
import type { Client } from '@temporalio/client';
import { acceptReport } from '../../../api/host-reports';
import { recordApiAlive } from '../../../infra/db/repositories/api-liveness.repo';
import { startFleetMonitor } from '../../../workers/control/fleet-monitor';
import { createControlMetrics } from '../../../workers/control/metrics';
import type { TestAssignment } from '../../support/assignments';
import { openTestAssignment, reservedGpu } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const HEARTBEAT_TIMEOUT_SECONDS = 10;
let fresh: FreshDatabase;

beforeEach(async () => {
  fresh = await freshDatabase();
});
afterEach(async () => fresh?.drop());

/** `sizes[i]` hosts of provider i, one running assignment each, all heard now; the API up for minutes. */
async function fleetOfProviders(sizes: number[]): Promise<TestAssignment[][]> {
  const customerId = await seedCustomer(fresh.db);
  const fleet: TestAssignment[][] = [];
  for (const size of sizes) {
    const providerId = await seedProvider(fresh.db, 1);
    const hosts: TestAssignment[] = [];
    for (let i = 0; i < size; i++) {
      const hostId = await seedHost(fresh.db, { providerId });
      const [gpuId] = await seedGpus(fresh.db, { hostId });
      const a = await openTestAssignment(fresh.db, await seedLease(fresh.db, customerId), reservedGpu(gpuId!, hostId, providerId), { epoch: 1 });
      await acceptReport(fresh.db, hostId, { containers: [{ assignmentId: a.assignmentId, epoch: 1, state: 'running' }], receipts: [] });
      hosts.push(a);
    }
    fleet.push(hosts);
  }
  // Every receipt on time: the last one accepted now, the containers running for two minutes.
  await fresh.db.updateTable('assignments').set({ running_at: new Date(Date.now() - 120_000), last_receipt_at: new Date() }).execute();
  await recordApiAlive(fresh.db, 'provider-silence-test', new Date(Date.now() - 600_000));
  return fleet;
}

/** Runs the fleet monitor until `done` holds (or 10 s): the faults it signalled, and its mass-silence ticks. */
async function monitorUntil(done: (signals: string[]) => Promise<boolean>): Promise<{ signals: string[]; massSilenceTicks: number }> {
  const signals: string[] = [];
  const client = { workflow: { getHandle: () => ({ signal: async (_def: unknown, arg: { assignmentId: string }) => void signals.push(arg.assignmentId) }) } } as unknown as Client;
  const metrics = createControlMetrics({ processMetrics: false });
  const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS, tickMs: 50, metrics });
  try {
    const deadline = Date.now() + 10_000;
    while (!(await done(signals)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await monitor.stop();
  }
  const ticks = (await metrics.registry.getSingleMetric('lease_engine_fleet_mass_silence_ticks_total')!.get()).values[0]?.value ?? 0;
  return { signals: [...new Set(signals)].sort(), massSilenceTicks: ticks };
}

const hostsWhere = async (status: 'online' | 'lost') =>
  (await fresh.db.selectFrom('hosts').select('id').where('status', '=', status).execute()).map((h) => h.id).sort();
const ids = (fleet: TestAssignment[], key: 'hostId' | 'assignmentId') => fleet.map((a) => a[key]).sort();

test('a provider with most of the fleet going silent is judged: its hosts lost, its leases failed over, the others untouched', async () => {
  const [big, small] = await fleetOfProviders([14, 6]);
  await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - 45_000) }).where('id', 'in', ids(big!, 'hostId')).execute();

  const { signals, massSilenceTicks } = await monitorUntil(async (signals) => signals.length >= big!.length);

  // 14 of 20 silent would be a mass silence; with the provider left out, the other 6 are all heard.
  expect(massSilenceTicks).toBe(0);
  expect(await hostsWhere('lost')).toEqual(ids(big!, 'hostId'));
  expect(await hostsWhere('online')).toEqual(ids(small!, 'hostId'));
  expect(signals).toEqual(ids(big!, 'assignmentId'));
});

test('a provider with most of the running assignments withholding its receipts is judged: each of its hosts proved nothing', async () => {
  const [big] = await fleetOfProviders([14, 6]);
  // Its hosts report on time (heard now) and send no receipt: the last accepted one a minute ago.
  await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date(Date.now() - 60_000) })
    .where('id', 'in', ids(big!, 'assignmentId')).execute();

  const { signals, massSilenceTicks } = await monitorUntil(async (signals) => signals.length >= big!.length);

  expect(massSilenceTicks).toBe(0);
  expect(signals).toEqual(ids(big!, 'assignmentId'));
  const unhealthy = (await fresh.db.selectFrom('hosts').select('id').where('unhealthy_until', '>', new Date()).execute()).map((h) => h.id).sort();
  expect(unhealthy).toEqual(ids(big!, 'hostId'));
});

test('the same silence over every provider is the engine\'s: no host lost, nothing failed over', async () => {
  const [big, small] = await fleetOfProviders([14, 6]);
  // Every host of the big provider and 4 of the small one's 6: most of the fleet with either provider left out.
  const silenced = [...big!, ...small!.slice(0, 4)];
  await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - 45_000) }).where('id', 'in', ids(silenced, 'hostId')).execute();

  let ticks = 0;
  const { signals, massSilenceTicks } = await monitorUntil(async () => ++ticks >= 20);

  expect(massSilenceTicks).toBeGreaterThanOrEqual(5);
  expect(signals).toEqual([]);
  expect(await hostsWhere('lost')).toEqual([]);
});
