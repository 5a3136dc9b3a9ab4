/** The schema: migrations apply once, and the database itself refuses the states the engine must never reach. */
import { sql } from 'kysely';
import { migrateToLatest } from '../../../infra/db/migrate';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

let fresh: FreshDatabase;

beforeAll(async () => {
  fresh = await freshDatabase();
});

afterAll(async () => {
  await fresh?.drop();
});

const violation = (code: string, constraint?: string) => expect.objectContaining(constraint ? { code, constraint } : { code });

test('migrating again is a no-op and every migration is recorded once', async () => {
  await migrateToLatest(fresh.db);
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(fresh.db);
  expect(rows.map((row) => row.name)).toEqual([
    '2026_11_25_0001_parties_and_inventory',
    '2026_11_25_0002_leases_and_assignments',
    '2026_11_25_0003_proof_receipts',
    '2026_11_25_0004_escrow_ledger',
    '2026_12_01_0005_host_protocol',
    '2026_12_01_0006_lease_events',
    '2026_12_01_0007_customer_allowance',
    '2026_12_01_0008_container_logs',
    '2026_12_01_0009_operators',
    '2026_12_01_0010_provider_reliability',
    '2026_12_01_0011_fleet_hold',
  ]);
});

test('a failing migration is named in the error', async () => {
  const empty = await freshDatabase({ migrate: false });
  try {
    await sql`create table hosts (id text)`.execute(empty.db);
    await expect(migrateToLatest(empty.db)).rejects.toThrow(/database migration 2026_11_25_0001_parties_and_inventory failed: .*hosts/);
  } finally {
    await empty.drop();
  }
});

test('bigint money comes back as an exact string', async () => {
  const host = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db) });
  const [gpuId] = await seedGpus(fresh.db, { hostId: host, price: 9_007_199_254_740_993n });
  const row = await fresh.db.selectFrom('gpus').select('price_per_gpu_hour').where('id', '=', gpuId!).executeTakeFirstOrThrow();
  expect(row.price_per_gpu_hour).toBe('9007199254740993');
});

describe('constraints', () => {
  test('no GPU is held by two live assignments', async () => {
    const providerId = await seedProvider(fresh.db);
    const hostId = await seedHost(fresh.db, { providerId });
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const leaseId = await seedLease(fresh.db, await seedCustomer(fresh.db));
    const assignment = (id: string, epoch: number) => ({
      id, lease_id: leaseId, gpu_id: gpuId!, host_id: hostId, provider_id: providerId, tier: 1,
      price_per_gpu_hour: 1n, rank: 0, epoch, started_at: new Date(),
    });
    await fresh.db.insertInto('assignments').values(assignment('a1', 0)).execute();
    await expect(fresh.db.insertInto('assignments').values(assignment('a2', 1)).execute()).rejects.toEqual(
      violation('23505', 'assignments_one_live_per_gpu'),
    );
    await fresh.db.updateTable('assignments').set({ ended_at: new Date() }).where('id', '=', 'a1').execute();
    await fresh.db.insertInto('assignments').values(assignment('a2', 1)).execute();
  });

  test('no assignment is paid more time than the engine watched pass (DESIGN §5), whatever the code does', async () => {
    const providerId = await seedProvider(fresh.db);
    const hostId = await seedHost(fresh.db, { providerId });
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const leaseId = await seedLease(fresh.db, await seedCustomer(fresh.db));
    await fresh.db.insertInto('assignments').values({
      id: 'watched', lease_id: leaseId, gpu_id: gpuId!, host_id: hostId, provider_id: providerId, tier: 1,
      price_per_gpu_hour: 1n, rank: 0, epoch: 1, started_at: new Date(),
    }).execute();
    const first = new Date(Date.now() - 10_000);
    const pay = (ms: number) =>
      fresh.db.updateTable('assignments').set({ first_receipt_at: first, last_receipt_at: new Date(first.getTime() + 10_000), payable_ms: ms }).where('id', '=', 'watched').execute();
    await pay(10_000);
    await expect(pay(10_002)).rejects.toEqual(violation('23514', 'assignments_payable_within_watched'));
    await expect(fresh.db.updateTable('assignments').set({ first_receipt_at: null }).where('id', '=', 'watched').execute()).rejects.toEqual(
      violation('23514', 'assignments_payable_within_watched'),
    );
  });

  test('a GPU is reserved exactly when it names its lease and reservation', async () => {
    const hostId = await seedHost(fresh.db, { providerId: await seedProvider(fresh.db) });
    const [gpuId] = await seedGpus(fresh.db, { hostId });
    const leaseId = await seedLease(fresh.db, await seedCustomer(fresh.db));
    const set = (values: { status: 'free' | 'reserved'; lease_id: string | null; reservation_id: string | null }) =>
      fresh.db.updateTable('gpus').set(values).where('id', '=', gpuId!).execute();
    const refused = violation('23514', 'gpus_holder_matches_status');
    await expect(set({ status: 'reserved', lease_id: null, reservation_id: null })).rejects.toEqual(refused);
    await expect(set({ status: 'free', lease_id: leaseId, reservation_id: 'r1' })).rejects.toEqual(refused);
    await expect(set({ status: 'reserved', lease_id: leaseId, reservation_id: null })).rejects.toEqual(refused);
    await expect(set({ status: 'reserved', lease_id: 'no-such-lease', reservation_id: 'r1' })).rejects.toEqual(violation('23503'));
    await set({ status: 'reserved', lease_id: leaseId, reservation_id: 'r1' });
  });

  test('an idempotency key is unique per customer, and leases without one are unconstrained', async () => {
    const [alice, bob] = [await seedCustomer(fresh.db), await seedCustomer(fresh.db)];
    const withKey = async (customerId: string, key: string | null) => {
      const id = await seedLease(fresh.db, customerId);
      await fresh.db.updateTable('leases').set({ idempotency_key: key }).where('id', '=', id).execute();
    };
    await withKey(alice, 'k1');
    await withKey(bob, 'k1');
    await withKey(alice, null);
    await withKey(alice, null);
    await expect(withKey(alice, 'k1')).rejects.toEqual(violation('23505', 'leases_idempotency_key'));
  });

  test('tiers outside 1..3 and unknown host states are refused', async () => {
    await expect(seedProvider(fresh.db, 4)).rejects.toEqual(violation('23514', 'providers_tier_valid'));
    const providerId = await seedProvider(fresh.db);
    await expect(seedHost(fresh.db, { providerId, status: 'busy' as 'online' })).rejects.toEqual(violation('23514', 'hosts_status_valid'));
  });
});
