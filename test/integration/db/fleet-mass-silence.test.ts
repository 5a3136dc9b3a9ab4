/**
 * The fleet's own silence (domain/fleet-silence.ts): most of it silent at once is the engine's silence,
 * not the hosts', so the monitor marks no host lost and signals no fault while it lasts, counts the ticks
 * it held, and judges as before once most of the fleet is heard again; a fleet heard late as a whole
 * gives each host its median lateness more. A database per test: the figures are of the whole fleet.
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

const HEARTBEAT_TIMEOUT_SECONDS = 30;
let fresh: FreshDatabase;

beforeEach(async () => {
  fresh = await freshDatabase();
});
afterEach(async () => fresh?.drop());

/** Hosts of one assignment each, running, heard `ages[i]` seconds ago; the API up for minutes. */
async function fleetHeard(ages: number[]): Promise<TestAssignment[]> {
  const customerId = await seedCustomer(fresh.db);
  const providerId = await seedProvider(fresh.db, 1);
  const fleet: TestAssignment[] = [];
  for (const age of ages) {
    const hostId = await seedHost(fresh.db, { providerId });
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const a = await openTestAssignment(fresh.db, await seedLease(fresh.db, customerId), reservedGpu(gpuId!, hostId, providerId), { epoch: 1 });
    await acceptReport(fresh.db, hostId, { containers: [{ assignmentId: a.assignmentId, epoch: 1, state: 'running' }], receipts: [] });
    await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - age * 1000) }).where('id', '=', hostId).execute();
    fleet.push(a);
  }
  await recordApiAlive(fresh.db, 'fleet-silence-test', new Date(Date.now() - 600_000));
  return fleet;
}

test('a fleet mostly silent at once loses no host and fails nothing over; a timeout after it is heard again, the silent few are judged', async () => {
  const customerId = await seedCustomer(fresh.db);
  const providerId = await seedProvider(fresh.db, 1);
  const fleet: TestAssignment[] = [];
  for (let i = 0; i < 14; i++) {
    const hostId = await seedHost(fresh.db, { providerId });
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const a = await openTestAssignment(fresh.db, await seedLease(fresh.db, customerId), reservedGpu(gpuId!, hostId, providerId), { epoch: 1 });
    await acceptReport(fresh.db, hostId, { containers: [{ assignmentId: a.assignmentId, epoch: 1, state: 'running' }], receipts: [] });
    fleet.push(a);
  }
  // The API has been up for minutes, yet 12 of 14 hosts went quiet in the same timeout.
  await recordApiAlive(fresh.db, 'mass-silence-test', new Date(Date.now() - 600_000));
  const silenced = fleet.slice(0, 12);
  await fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - 45_000) }).where('id', 'in', silenced.map((a) => a.hostId)).execute();

  const signals: string[] = [];
  const client = { workflow: { getHandle: () => ({ signal: async (_def: unknown, arg: { assignmentId: string }) => void signals.push(arg.assignmentId) }) } } as unknown as Client;
  const metrics = createControlMetrics({ processMetrics: false });
  const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS, tickMs: 50, metrics });
  const statuses = async () => Object.fromEntries((await fresh.db.selectFrom('hosts').select(['id', 'status']).execute()).map((h) => [h.id, h.status]));
  const massSilenceTicks = async () => (await metrics.registry.getSingleMetric('lease_engine_fleet_mass_silence_ticks_total')!.get()).values[0]!.value;
  try {
    const deadline = Date.now() + 10_000;
    while ((await massSilenceTicks()) < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await massSilenceTicks()).toBeGreaterThanOrEqual(5);
    expect(Object.values(await statuses()).every((s) => s === 'online')).toBe(true);
    expect(signals).toEqual([]);

    // Ten of them are heard again. The two still silent get a whole timeout more (a fleet comes back over
    // seconds, not in one tick): for now they stay online.
    for (const a of silenced.slice(0, 10)) await acceptReport(fresh.db, a.hostId, { containers: [], receipts: [] });
    const stillSilent = silenced.slice(10).map((a) => a.hostId);
    const held = await fresh.db.selectFrom('fleet_hold').select('held_until').executeTakeFirstOrThrow();
    expect(held.held_until.getTime()).toBeGreaterThan(Date.now() + (HEARTBEAT_TIMEOUT_SECONDS - 5) * 1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(Object.values(await statuses()).every((s) => s === 'online')).toBe(true);
    expect(signals).toEqual([]);

    // That timeout over (moved to now rather than waited for): two silent of fourteen is the hosts' own
    // silence, judged as ever.
    await fresh.db.updateTable('fleet_hold').set({ held_until: new Date() }).execute();
    while (!stillSilent.every((id) => signals.includes(fleet.find((a) => a.hostId === id)!.assignmentId)) && Date.now() < deadline + 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await monitor.stop();
  }
  const after = await statuses();
  expect(fleet.filter((a) => after[a.hostId] === 'lost').map((a) => a.hostId).sort()).toEqual(silenced.slice(10).map((a) => a.hostId).sort());
  expect([...new Set(signals)].sort()).toEqual(silenced.slice(10).map((a) => a.assignmentId).sort());
});

test('a fleet heard late as a whole gives each host its median lateness more; a host silent beyond that is lost', async () => {
  // Median 8 s against a 10 s timeout: hosts are judged after 10 + (8 − 2.5) → 16 s. Six hosts 13 s
  // silent (under half the fleet, so no mass silence) are late like the rest; one 40 s silent is gone.
  const fleet = await fleetHeard([...Array(13).fill(8), ...Array(6).fill(13), 40]);
  const signals: string[] = [];
  const client = { workflow: { getHandle: () => ({ signal: async (_def: unknown, arg: { assignmentId: string }) => void signals.push(arg.assignmentId) }) } } as unknown as Client;
  const metrics = createControlMetrics({ processMetrics: false });
  const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: 10, tickMs: 50, metrics });
  const gone = fleet.at(-1)!;
  try {
    const deadline = Date.now() + 10_000;
    while (!signals.includes(gone.assignmentId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await monitor.stop();
  }
  const lost = (await fresh.db.selectFrom('hosts').select('id').where('status', '=', 'lost').execute()).map((h) => h.id);
  expect(lost).toEqual([gone.hostId]);
  expect([...new Set(signals)]).toEqual([gone.assignmentId]);
  const judged = (await metrics.registry.getSingleMetric('lease_engine_fleet_judged_timeout_seconds')!.get()).values[0]!.value;
  // 16 s, or 17 once the seconds spent seeding the fleet have aged its median past 8.5 s.
  expect(judged).toBeGreaterThanOrEqual(16);
  expect(judged).toBeLessThanOrEqual(17);
});

test("a fleet split at its middle is judged by a host's own silence, not the mean of the two middles", async () => {
  // Ten hosts just heard, ten silent for 15 s (half: not a mass silence). A mean of the middles would be
  // about 8 s, a judged timeout of 16 s, and the ten not lost yet; the lower middle is a live host's.
  const fleet = await fleetHeard([...Array(10).fill(0), ...Array(10).fill(15)]);
  const dead = fleet.slice(10).map((a) => a.hostId);
  const metrics = createControlMetrics({ processMetrics: false });
  const client = { workflow: { getHandle: () => ({ signal: async () => undefined }) } } as unknown as Client;
  const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: 10, tickMs: 50, metrics });
  const lost = async () => (await fresh.db.selectFrom('hosts').select('id').where('status', '=', 'lost').execute()).map((h) => h.id).sort();
  try {
    const deadline = Date.now() + 10_000;
    while ((await lost()).length < dead.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await monitor.stop();
  }
  expect(await lost()).toEqual([...dead].sort());
  expect((await metrics.registry.getSingleMetric('lease_engine_fleet_judged_timeout_seconds')!.get()).values[0]!.value).toBe(10);
});

test('a small fleet is judged at the timeout, even when its median host is the silent one', async () => {
  const [alive, dead] = await fleetHeard([0, 6]);
  const monitor = startFleetMonitor({ db: fresh.db, client: { workflow: { getHandle: () => ({ signal: async () => undefined }) } } as unknown as Client,
    heartbeatTimeoutSeconds: 4, tickMs: 50 });
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((await fresh.db.selectFrom('hosts').select('status').where('id', '=', dead!.hostId).executeTakeFirstOrThrow()).status === 'lost') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await monitor.stop();
  }
  const statuses = Object.fromEntries((await fresh.db.selectFrom('hosts').select(['id', 'status']).execute()).map((h) => [h.id, h.status]));
  expect(statuses).toEqual({ [alive!.hostId]: 'online', [dead!.hostId]: 'lost' });
});

test('most running assignments missing their receipts at once, their hosts reporting, fail nothing over; a timeout after most prove again, the few are judged', async () => {
  // A fleet simulator (or an API) restarted in seconds: its hosts report again before their receipts resume.
  const fleet = await fleetHeard(Array(14).fill(0));
  const late = fleet.slice(0, 12);
  await fresh.db.updateTable('assignments').set({ running_at: new Date(Date.now() - 60_000), last_receipt_at: new Date() }).execute();
  await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date(Date.now() - 30_000) })
    .where('id', 'in', late.map((a) => a.assignmentId)).execute();

  const signals: string[] = [];
  const client = { workflow: { getHandle: () => ({ signal: async (_def: unknown, arg: { assignmentId: string }) => void signals.push(arg.assignmentId) }) } } as unknown as Client;
  const metrics = createControlMetrics({ processMetrics: false });
  const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: 10, tickMs: 50, metrics });
  const massSilenceTicks = async () => (await metrics.registry.getSingleMetric('lease_engine_fleet_mass_silence_ticks_total')!.get()).values[0]!.value;
  const unhealthy = async () => (await fresh.db.selectFrom('hosts').select('id').where('unhealthy_until', '>', new Date()).execute()).map((h) => h.id).sort();
  const stillLate = late.slice(10);
  try {
    const deadline = Date.now() + 10_000;
    while ((await massSilenceTicks()) < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await massSilenceTicks()).toBeGreaterThanOrEqual(5);
    expect(signals).toEqual([]);
    expect(await unhealthy()).toEqual([]);

    // Ten prove again; the two still late get the whole timeout a mass silence leaves behind.
    await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date() }).where('id', 'in', late.slice(0, 10).map((a) => a.assignmentId)).execute();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(signals).toEqual([]);

    // That timeout over: two of fourteen is those hosts' own doing, judged as ever.
    await fresh.db.updateTable('fleet_hold').set({ held_until: new Date() }).execute();
    while (!stillLate.every((a) => signals.includes(a.assignmentId)) && Date.now() < deadline + 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await monitor.stop();
  }
  expect([...new Set(signals)].sort()).toEqual(stillLate.map((a) => a.assignmentId).sort());
  expect(await unhealthy()).toEqual(stillLate.map((a) => a.hostId).sort());
});
