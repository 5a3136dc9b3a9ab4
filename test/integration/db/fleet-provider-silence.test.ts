/**
 * The worst provider against the mass-silence rule (domain/fleet-silence.ts): one that holds most of the fleet
 * and goes silent, or keeps reporting but withholds its receipts, must not hold judgement for everyone. Its
 * hosts are judged as any silent host is, and its leases failed over; the other providers' are untouched. The
 * same silence spread over every provider is still held, as the engine's own failure.
 */
import type { TestAssignment } from '../../support/assignments';
import { lastHeard, seedRunningFleet, watchFleet } from '../../support/fleet';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';

const HEARTBEAT_TIMEOUT_SECONDS = 10;
let fresh: FreshDatabase;

beforeEach(async () => {
  fresh = await freshDatabase();
});
afterEach(async () => fresh?.drop());

/** Runs the fleet monitor until `done` holds (or 10 s): the faults it signalled, and its mass-silence ticks. */
async function monitorUntil(done: (signals: string[]) => boolean): Promise<{ signals: string[]; massSilenceTicks: number }> {
  const watch = watchFleet(fresh.db, { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS });
  try {
    await watch.until(() => done(watch.signals));
  } finally {
    await watch.stop();
  }
  return { signals: [...new Set(watch.signals)].sort(), massSilenceTicks: await watch.massSilenceTicks() };
}

const hostsWhere = async (status: 'online' | 'lost') =>
  (await fresh.db.selectFrom('hosts').select('id').where('status', '=', status).execute()).map((h) => h.id).sort();
const ids = (fleet: TestAssignment[], key: 'hostId' | 'assignmentId') => fleet.map((a) => a[key]).sort();

test('a provider with most of the fleet going silent is judged: its hosts lost, its leases failed over, the others untouched', async () => {
  const [big, small] = (await seedRunningFleet(fresh.db, [14, 6])) as [TestAssignment[], TestAssignment[]];
  await lastHeard(fresh.db, big, 45);

  const { signals, massSilenceTicks } = await monitorUntil((signals) => signals.length >= big.length);

  // 14 of 20 silent would be a mass silence; with the provider left out, the other 6 are all heard.
  expect(massSilenceTicks).toBe(0);
  expect(await hostsWhere('lost')).toEqual(ids(big, 'hostId'));
  expect(await hostsWhere('online')).toEqual(ids(small, 'hostId'));
  expect(signals).toEqual(ids(big, 'assignmentId'));
});

test('a provider with most of the running assignments withholding its receipts is judged: each of its hosts proved nothing', async () => {
  const [big] = (await seedRunningFleet(fresh.db, [14, 6])) as [TestAssignment[], TestAssignment[]];
  // Its hosts report on time (heard now) and send no receipt: the last accepted one a minute ago.
  await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date(Date.now() - 60_000) })
    .where('id', 'in', ids(big, 'assignmentId')).execute();

  const { signals, massSilenceTicks } = await monitorUntil((signals) => signals.length >= big.length);

  expect(massSilenceTicks).toBe(0);
  expect(signals).toEqual(ids(big, 'assignmentId'));
  const unhealthy = (await fresh.db.selectFrom('hosts').select('id').where('unhealthy_until', '>', new Date()).execute()).map((h) => h.id).sort();
  expect(unhealthy).toEqual(ids(big, 'hostId'));
});

test('the same silence over every provider is the engine\'s: no host lost, nothing failed over', async () => {
  const [big, small] = (await seedRunningFleet(fresh.db, [14, 6])) as [TestAssignment[], TestAssignment[]];
  // Every host of the big provider and 4 of the small one's 6: most of the fleet with either provider left out.
  await lastHeard(fresh.db, [...big, ...small.slice(0, 4)], 45);

  let ticks = 0;
  const { signals, massSilenceTicks } = await monitorUntil(() => ++ticks >= 20);

  expect(massSilenceTicks).toBeGreaterThanOrEqual(5);
  expect(signals).toEqual([]);
  expect(await hostsWhere('lost')).toEqual([]);
});
