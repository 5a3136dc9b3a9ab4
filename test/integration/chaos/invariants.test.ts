/**
 * The chaos run's invariant checks bite: on a real, migrated database with states a storm must never leave
 * behind (a lease stuck between states, one ended without a reason or with its workflow still open, a GPU
 * still reserved for an ended lease, an escrow the ledger knows and the chain does not), each check names
 * the lease; on clean states it finds nothing. Temporal and the chain are stubs answering what each case needs.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowClient } from '@temporalio/client';
import type { Connection } from '@solana/web3.js';
import { leasesAccountedFor, moneyBalanced, noGpuHeldTwice } from '../../../scripts/chaos/invariants';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

let database: FreshDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(() => database.drop());

const workflows = (status: Record<string, string>) =>
  ({ getHandle: (id: string) => ({ describe: async () => ({ status: { name: status[id.replace(/^lease-/, '')] ?? 'COMPLETED' } }) }) }) as unknown as WorkflowClient;
const emptyChain = { getAccountInfo: async () => null } as unknown as Connection;

/** A lease row in `status` (ids are UUIDs, as the API makes them: the escrow's address derives from one). */
async function lease(status: string, endReason: string | null): Promise<string> {
  const seeded = await seedLease(database.db, await seedCustomer(database.db));
  const id = randomUUID();
  await database.db.updateTable('leases').set({ id, status, end_reason: endReason, ended_at: endReason ? new Date() : null }).where('id', '=', seeded).execute();
  return id;
}

test('a lease stuck, ended without a reason, or ended with its workflow open is named; clean ones are not', async () => {
  const running = await lease('running', null);
  const cancelled = await lease('cancelled', 'cancelled by customer');
  const stuck = await lease('failing_over', null);
  const silent = await lease('failed', null);
  const open = await lease('completed', 'duration reached');
  const src = {
    db: database.db,
    workflow: workflows({ [running]: 'RUNNING', [cancelled]: 'COMPLETED', [stuck]: 'RUNNING', [silent]: 'COMPLETED', [open]: 'RUNNING' }),
    chain: emptyChain,
  };

  const clean = await leasesAccountedFor(src, [running, cancelled]);
  expect(clean).toMatchObject({ ok: true, checked: 2, violations: [] });

  const dirty = await leasesAccountedFor(src, [stuck, silent, open, 'lease-never-created']);
  expect(dirty.ok).toBe(false);
  expect(dirty.violations).toEqual(expect.arrayContaining([
    expect.stringMatching(new RegExp(`^${stuck}: stuck in failing_over`)),
    `${silent}: failed without an end reason`,
    `${silent}: failed without an end time`,
    `${open}: completed but its workflow still runs`,
    'lease-never-created: lost (no row)',
  ]));
});

test('a GPU still reserved for an ended lease is named', async () => {
  const ended = await lease('cancelled', 'cancelled by customer');
  const host = await seedHost(database.db, { providerId: await seedProvider(database.db) });
  const [gpu] = await seedGpus(database.db, { hostId: host });
  await database.db.updateTable('gpus').set({ status: 'reserved', lease_id: ended, reservation_id: 'rsv-test' }).where('id', '=', gpu!).execute();
  const src = { db: database.db, workflow: workflows({}), chain: emptyChain };
  const result = await leasesAccountedFor(src, [ended]);
  expect(result.violations).toContain(`GPU ${gpu} still reserved for ended lease ${ended}`);
  expect(await noGpuHeldTwice(src)).toMatchObject({ ok: true, violations: [] });
});

test('an escrow in the ledger that the chain does not hold is named; a lease that never opened one is skipped', async () => {
  const neverFunded = await lease('failed', 'no capacity');
  const funded = await lease('cancelled', 'cancelled by customer');
  await database.db.insertInto('escrows').values({
    lease_id: funded, address: 'addr', vault: 'vault', customer_wallet: 'wallet', mint: 'mint', deposited: '1000', max_rate_per_second: '1',
    duration_seconds: '60', status: 'closed', open_signature: `sig-${funded}`,
  } as never).execute();
  const src = { db: database.db, workflow: workflows({}), chain: emptyChain };
  const result = await moneyBalanced(src, [neverFunded, funded]);
  expect(result.money).toMatchObject({ ok: false, checked: 1, violations: [`${funded}: escrow in the ledger but not on the chain`] });
  expect(result.periods.ok).toBe(true);
});
