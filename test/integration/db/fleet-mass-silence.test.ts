/**
 * The fleet's own silence (domain/fleet-silence.ts): most of it silent at once is the engine's silence,
 * not the hosts', so the monitor marks no host lost and signals no fault while it lasts, counts the ticks
 * it held, and judges as before once most of the fleet is heard again; a fleet heard late as a whole
 * gives each host its median lateness more. A database per test: the figures are of the whole fleet.
 */
import { acceptReport } from '../../../api/host-reports';
import type { TestAssignment } from '../../support/assignments';
import { lastHeard, seedRunningFleet, watchFleet } from '../../support/fleet';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';

let fresh: FreshDatabase;

beforeEach(async () => {
  fresh = await freshDatabase();
});
afterEach(async () => fresh?.drop());

/** Hosts of one running assignment each, heard `ages[i]` seconds ago; the API up for minutes. */
async function fleetHeard(ages: number[]): Promise<TestAssignment[]> {
  const [fleet] = (await seedRunningFleet(fresh.db, [ages.length])) as [TestAssignment[]];
  for (const [i, a] of fleet.entries()) await lastHeard(fresh.db, [a], ages[i]!);
  return fleet;
}

const statuses = async () => Object.fromEntries((await fresh.db.selectFrom('hosts').select(['id', 'status']).execute()).map((h) => [h.id, h.status]));
const hostsLost = async () => (await fresh.db.selectFrom('hosts').select('id').where('status', '=', 'lost').execute()).map((h) => h.id).sort();

test('a fleet mostly silent at once loses no host and fails nothing over; a timeout after it is heard again, the silent few are judged', async () => {
  const heartbeatTimeoutSeconds = 30;
  const fleet = await fleetHeard(Array(14).fill(0));
  // The API has been up for minutes, yet 12 of 14 hosts went quiet in the same timeout.
  const silenced = fleet.slice(0, 12);
  await lastHeard(fresh.db, silenced, 45);

  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds });
  const stillSilent = silenced.slice(10);
  try {
    expect(await watch.until(async () => (await watch.massSilenceTicks()) >= 5)).toBe(true);
    expect(Object.values(await statuses()).every((s) => s === 'online')).toBe(true);
    expect(watch.signals).toEqual([]);

    // Ten of them are heard again. The two still silent get a whole timeout more (a fleet comes back over
    // seconds, not in one tick): for now they stay online.
    for (const a of silenced.slice(0, 10)) await acceptReport(fresh.db, a.hostId, { containers: [], receipts: [] });
    const held = await fresh.db.selectFrom('fleet_hold').select('held_until').executeTakeFirstOrThrow();
    expect(held.held_until.getTime()).toBeGreaterThan(Date.now() + (heartbeatTimeoutSeconds - 5) * 1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(Object.values(await statuses()).every((s) => s === 'online')).toBe(true);
    expect(watch.signals).toEqual([]);

    // That timeout over (moved to now rather than waited for): two silent of fourteen is the hosts' own
    // silence, judged as ever.
    await fresh.db.updateTable('fleet_hold').set({ held_until: new Date() }).execute();
    await watch.until(() => stillSilent.every((a) => watch.signals.includes(a.assignmentId)));
  } finally {
    await watch.stop();
  }
  expect(await hostsLost()).toEqual(stillSilent.map((a) => a.hostId).sort());
  expect([...new Set(watch.signals)].sort()).toEqual(stillSilent.map((a) => a.assignmentId).sort());
});

test('a fleet heard late as a whole gives each host its median lateness more; a host silent beyond that is lost', async () => {
  // Median 8 s against a 10 s timeout: hosts are judged after 10 + (8 − 2.5) → 16 s. Six hosts 13 s
  // silent (under half the fleet, so no mass silence) are late like the rest; one 40 s silent is gone.
  const fleet = await fleetHeard([...Array(13).fill(8), ...Array(6).fill(13), 40]);
  const gone = fleet.at(-1)!;
  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds: 10 });
  try {
    await watch.until(() => watch.signals.includes(gone.assignmentId));
  } finally {
    await watch.stop();
  }
  expect(await hostsLost()).toEqual([gone.hostId]);
  expect([...new Set(watch.signals)]).toEqual([gone.assignmentId]);
  // 16 s, or 17 once the seconds spent seeding the fleet have aged its median past 8.5 s.
  expect(await watch.judgedTimeoutSeconds()).toBeGreaterThanOrEqual(16);
  expect(await watch.judgedTimeoutSeconds()).toBeLessThanOrEqual(17);
});

test("a fleet split at its middle is judged by a host's own silence, not the mean of the two middles", async () => {
  // Ten hosts just heard, ten silent for 15 s (half: not a mass silence). A mean of the middles would be
  // about 8 s, a judged timeout of 16 s, and the ten not lost yet; the lower middle is a live host's.
  const fleet = await fleetHeard([...Array(10).fill(0), ...Array(10).fill(15)]);
  const dead = fleet.slice(10).map((a) => a.hostId).sort();
  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds: 10 });
  try {
    await watch.until(async () => (await hostsLost()).length >= dead.length);
  } finally {
    await watch.stop();
  }
  expect(await hostsLost()).toEqual(dead);
  expect(await watch.judgedTimeoutSeconds()).toBe(10);
});

test('a small fleet is judged at the timeout, even when its median host is the silent one', async () => {
  const [alive, dead] = await fleetHeard([0, 6]);
  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds: 4 });
  try {
    await watch.until(async () => (await hostsLost()).includes(dead!.hostId));
  } finally {
    await watch.stop();
  }
  expect(await statuses()).toEqual({ [alive!.hostId]: 'online', [dead!.hostId]: 'lost' });
});

test('most running assignments missing their receipts at once, their hosts reporting, fail nothing over; a timeout after most prove again, the few are judged', async () => {
  // A fleet simulator (or an API) restarted in seconds: its hosts report again before their receipts resume.
  const fleet = await fleetHeard(Array(14).fill(0));
  const late = fleet.slice(0, 12);
  await fresh.db.updateTable('assignments').set({ running_at: new Date(Date.now() - 60_000), last_receipt_at: new Date() }).execute();
  await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date(Date.now() - 30_000) })
    .where('id', 'in', late.map((a) => a.assignmentId)).execute();

  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds: 10 });
  const unhealthy = async () => (await fresh.db.selectFrom('hosts').select('id').where('unhealthy_until', '>', new Date()).execute()).map((h) => h.id).sort();
  const stillLate = late.slice(10);
  try {
    expect(await watch.until(async () => (await watch.massSilenceTicks()) >= 5)).toBe(true);
    expect(watch.signals).toEqual([]);
    expect(await unhealthy()).toEqual([]);

    // Ten prove again; the two still late get the whole timeout a mass silence leaves behind.
    await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date() }).where('id', 'in', late.slice(0, 10).map((a) => a.assignmentId)).execute();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(watch.signals).toEqual([]);

    // That timeout over: two of fourteen is those hosts' own doing, judged as ever.
    await fresh.db.updateTable('fleet_hold').set({ held_until: new Date() }).execute();
    await watch.until(() => stillLate.every((a) => watch.signals.includes(a.assignmentId)));
  } finally {
    await watch.stop();
  }
  expect([...new Set(watch.signals)].sort()).toEqual(stillLate.map((a) => a.assignmentId).sort());
  expect(await unhealthy()).toEqual(stillLate.map((a) => a.hostId).sort());
});
