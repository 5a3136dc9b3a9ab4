/**
 * GET /metrics on the API: Prometheus text with HTTP requests by route pattern, receipts by bounded
 * reason (a hostile host cannot mint series), and gauges read from PostgreSQL at scrape time.
 */
import type { Express } from 'express';
import request from 'supertest';
import { openTestAssignment, signChain } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedLease } from '../../support/seed';
import type { TestHost } from './fixtures';
import { buildApp, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost, signedPost } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let provider: { id: string; auth: string };

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  provider = await newProvider(fresh.db, 3);
});

afterAll(() => fresh.drop());

async function scrape(): Promise<string> {
  const res = await request(app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text;
}

/** The value of one series, by its exact label set; undefined when the series is absent. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(/,(?=\w+=")/).filter(Boolean).sort().join(',');
    if (have === want) return Number(match[3]);
  }
  return undefined;
}

const labelValues = (text: string, name: string, label: string): string[] =>
  [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`, 'gm'))].map((m) => m[1]!);

async function hostWithAssignment(): Promise<{ host: TestHost; a: Awaited<ReturnType<typeof openTestAssignment>> }> {
  const host = newHost();
  await registerHost(app, provider.auth, host, [{ model: 'L4', pricePerGpuHour: '0.5' }]);
  const customer = await newCustomer(fresh.db);
  const leaseId = await seedLease(fresh.db, customer.id);
  const a = await openTestAssignment(fresh.db, leaseId, { gpuId: `${host.hostId}-gpu0`, hostId: host.hostId, providerId: provider.id, tier: 3, model: 'L4', pricePerGpuHour: '500000' });
  return { host, a };
}

describe('GET /metrics', () => {
  test('serves process metrics and counts requests by route pattern, not by URL', async () => {
    await request(app).get('/v1/hosts');
    await request(app).get('/v1/hosts');
    await request(app).get('/v1/providers/00000000-0000-4000-8000-000000000001');
    await request(app).get('/v1/providers/00000000-0000-4000-8000-000000000002');
    await request(app).get('/v1/nothing-here-1');
    await request(app).get('/v1/nothing-here-2');
    const text = await scrape();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(valueOf(text, 'lease_engine_http_requests_total', { method: 'GET', route: '/v1/hosts/', status: '200' })).toBe(2);
    const providerStatuses = labelValues(text, 'lease_engine_http_requests_total', 'route').filter((r) => r.startsWith('/v1/providers'));
    expect(new Set(providerStatuses)).toEqual(new Set(['/v1/providers/:id']));
    expect(valueOf(text, 'lease_engine_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
    expect(valueOf(text, 'lease_engine_http_request_duration_seconds_count', { method: 'GET', route: '/v1/hosts/' })).toBe(2);
    expect(labelValues(text, 'lease_engine_http_requests_total', 'route').some((r) => r.includes('nothing-here'))).toBe(false);
  });

  test('counts receipts accepted and rejected; hostile reasons fold into a fixed label set', async () => {
    const { host, a } = await hostWithAssignment();
    const good = signChain(a, host.key.secretKey, { count: 3, startAt: Date.now() - 3_000 });
    let res = await signedPost(app, `/v1/hosts/${host.hostId}/reports`, { containers: [], receipts: good }, host);
    expect(res.body).toMatchObject({ accepted: 3, rejected: [] });

    const before = await scrape();
    expect(valueOf(before, 'lease_engine_receipts_total', { outcome: 'accepted', reason: 'none' })).toBe(3);
    const rejectedBefore = labelValues(before, 'lease_engine_receipts_total', 'reason');

    // Twelve receipts whose reasons all differ in their text: six for (made-up) assignments that are not
    // the host's, six from other hosts with lease ids of their choosing.
    const bogus = Array.from({ length: 6 }, (_, i) =>
      signChain({ ...a, assignmentId: `asg-evil-${i}-${'x'.repeat(i * 7)}` }, host.key.secretKey, { count: 1, startAt: Date.now() - 1_000 })[0]!);
    res = await signedPost(app, `/v1/hosts/${host.hostId}/reports`, { containers: [], receipts: bogus }, host);
    expect(res.body.rejected).toHaveLength(6);
    expect(new Set(res.body.rejected.map((r: { reason: string }) => r.reason)).size).toBe(6);
    for (let i = 0; i < 6; i++) {
      const { host: other, a: b } = await hostWithAssignment();
      const [lying] = signChain(b, other.key.secretKey, { count: 1, startAt: Date.now() - 500, tamper: (body) => { body.leaseId = `lease-evil-${i}-${'q'.repeat(i)}`; } });
      res = await signedPost(app, `/v1/hosts/${other.hostId}/reports`, { containers: [], receipts: [lying] }, other);
      expect(res.body.rejected).toEqual([expect.objectContaining({ reason: expect.stringContaining('wrong leaseId') })]);
    }

    const after = await scrape();
    expect(valueOf(after, 'lease_engine_receipts_total', { outcome: 'rejected', reason: 'not_hosts_assignment' })).toBe(6);
    expect(valueOf(after, 'lease_engine_receipts_total', { outcome: 'rejected', reason: 'wrong_lease_id' })).toBe(6);
    expect(valueOf(after, 'lease_engine_receipts_total', { outcome: 'accepted', reason: 'none' })).toBe(3);
    const added = labelValues(after, 'lease_engine_receipts_total', 'reason').filter((r) => !rejectedBefore.includes(r));
    expect(added.sort()).toEqual(['not_hosts_assignment', 'wrong_lease_id']);
    expect(after).not.toMatch(/evil/);
    // The report route is one series, whatever the host id in the URL.
    expect(labelValues(after, 'lease_engine_http_requests_total', 'route').filter((r) => r.includes('reports'))).toEqual(['/v1/hosts/:hostId/reports']);
  });

  test('reads leases, hosts and escrow volume from PostgreSQL at each scrape', async () => {
    const customer = await newCustomer(fresh.db);
    const open = await seedLease(fresh.db, customer.id);
    const closed = await seedLease(fresh.db, customer.id);
    await fresh.db.updateTable('leases').set({ status: 'running' }).where('id', '=', open).execute();
    await fresh.db.updateTable('leases').set({ status: 'completed' }).where('id', '=', closed).execute();

    const escrow = (leaseId: string, status: 'opening' | 'open' | 'closed', deposited: bigint) => ({
      lease_id: leaseId, address: `addr-${leaseId}`, vault: `vault-${leaseId}`, customer_wallet: 'wallet', mint: 'mint',
      deposited, max_rate_per_second: 10n, duration_seconds: 3600n, status, open_signature: `sig-${leaseId}`,
    });
    const opening = await seedLease(fresh.db, customer.id);
    await fresh.db.insertInto('escrows').values([escrow(open, 'open', 10_000_000n), escrow(closed, 'closed', 5_000_000n), escrow(opening, 'opening', 99_000_000n)]).execute();
    const settlement = (leaseId: string, period: number, status: 'pending' | 'confirmed', amounts: { gross: bigint; fee: bigint; burned: bigint; refunded: bigint }) => ({
      lease_id: leaseId, period, kind: 'settle' as const, status, signature: `s-${leaseId}-${period}`, transaction: 'tx',
      last_valid_block_height: 1, receipts_digest: '00'.repeat(32), ...amounts,
    });
    await fresh.db.insertInto('settlements').values([
      settlement(open, 1, 'confirmed', { gross: 2_000_000n, fee: 100_000n, burned: 20_000n, refunded: 0n }),
      settlement(closed, 1, 'confirmed', { gross: 3_000_000n, fee: 150_000n, burned: 30_000n, refunded: 2_000_000n }),
      settlement(open, 2, 'pending', { gross: 9_000_000n, fee: 900_000n, burned: 90_000n, refunded: 0n }),
    ]).execute();

    const hosts = await fresh.db.selectFrom('hosts').select(['id']).execute();
    const [lost, unhealthy] = hosts.map((h) => h.id);
    await fresh.db.updateTable('hosts').set({ status: 'lost' }).where('id', '=', lost!).execute();
    await fresh.db.updateTable('hosts').set({ unhealthy_until: new Date(Date.now() + 600_000) }).where('id', '=', unhealthy!).execute();

    const leases = await fresh.db.selectFrom('leases').select('status').execute();
    const text = await scrape();
    expect(valueOf(text, 'lease_engine_leases', { status: 'running' })).toBe(1);
    expect(valueOf(text, 'lease_engine_leases', { status: 'completed' })).toBe(1);
    expect(valueOf(text, 'lease_engine_leases', { status: 'reserving' })).toBe(leases.filter((l) => l.status === 'reserving').length);
    expect(valueOf(text, 'lease_engine_leases', { status: 'failed' })).toBe(0);
    expect(valueOf(text, 'lease_engine_hosts', { status: 'online' })).toBe(hosts.length - 1);
    expect(valueOf(text, 'lease_engine_hosts', { status: 'lost' })).toBe(1);
    expect(valueOf(text, 'lease_engine_hosts', { status: 'offline' })).toBe(0);
    expect(valueOf(text, 'lease_engine_hosts_unhealthy')).toBe(1);
    expect(valueOf(text, 'lease_engine_escrow_tokens', { flow: 'deposited' })).toBe(15);
    expect(valueOf(text, 'lease_engine_escrow_tokens', { flow: 'paid_to_providers' })).toBe(4.7);
    expect(valueOf(text, 'lease_engine_escrow_tokens', { flow: 'fees' })).toBe(0.25);
    expect(valueOf(text, 'lease_engine_escrow_tokens', { flow: 'burned' })).toBe(0.05);
    expect(valueOf(text, 'lease_engine_escrow_tokens', { flow: 'refunded' })).toBe(2);

    // Read again at the next scrape: a lease that moves on moves the gauge.
    await fresh.db.updateTable('leases').set({ status: 'completed' }).where('id', '=', open).execute();
    const next = await scrape();
    expect(valueOf(next, 'lease_engine_leases', { status: 'running' })).toBe(0);
    expect(valueOf(next, 'lease_engine_leases', { status: 'completed' })).toBe(2);
  });

  test('counts the confirmed ledger in base units and the network health of the last hour', async () => {
    const customer = await newCustomer(fresh.db);
    const leaseId = await seedLease(fresh.db, customer.id);
    await fresh.db.insertInto('escrows').values({ lease_id: leaseId, address: `addr-${leaseId}`, vault: `vault-${leaseId}`,
      customer_wallet: 'wallet', mint: 'mint', deposited: 20_000_000n, max_rate_per_second: 10n, duration_seconds: 3600n, status: 'open',
      open_signature: `sig-${leaseId}` }).execute();
    const before = await scrape();
    const delta = (after: string, name: string, labels?: Record<string, string>) =>
      (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);
    const row = (period: number, status: 'pending' | 'confirmed', confirmedAt: Date | null, gross: bigint, topUp: bigint) => ({
      lease_id: leaseId, period, kind: 'settle' as const, status, signature: `ledger-${leaseId}-${period}`, transaction: 'tx',
      last_valid_block_height: 1, receipts_digest: '00'.repeat(32), gross, fee: gross / 20n, burned: gross / 100n, refunded: 0n,
      top_up: topUp, confirmed_at: confirmedAt,
    });
    await fresh.db.insertInto('settlements').values([
      row(1, 'confirmed', new Date(Date.now() - 2 * 3600_000), 4_000_000n, 1_000_000n), // counted, but not in the last hour
      row(2, 'confirmed', new Date(), 6_000_000n, 500_000n),
      row(3, 'pending', null, 9_000_000n, 700_000n), // not on chain yet: nowhere
    ]).execute();

    const after = await scrape();
    expect(after).toMatch(/^# TYPE lease_engine_compute_sold_base_units_total counter$/m);
    expect(delta(after, 'lease_engine_compute_sold_base_units_total')).toBe(10_000_000);
    expect(delta(after, 'lease_engine_paid_to_providers_base_units_total')).toBe(9_400_000);
    expect(delta(after, 'lease_engine_fees_base_units_total')).toBe(500_000);
    expect(delta(after, 'lease_engine_burned_base_units_total')).toBe(100_000);
    expect(delta(after, 'lease_engine_topped_up_base_units_total')).toBe(1_500_000);
    expect(delta(after, 'lease_engine_network_last_hour_base_units', { flow: 'compute_sold' })).toBe(6_000_000);
    expect(delta(after, 'lease_engine_network_last_hour_base_units', { flow: 'paid_to_providers' })).toBe(5_640_000);
    expect(delta(after, 'lease_engine_network_last_hour_base_units', { flow: 'fees' })).toBe(300_000);
    expect(delta(after, 'lease_engine_network_last_hour_base_units', { flow: 'burned' })).toBe(60_000);
    const hour = (flow: string) => valueOf(after, 'lease_engine_network_last_hour_base_units', { flow })!;
    expect(valueOf(after, 'lease_engine_network_revenue_to_incentive_ratio')).toBeCloseTo(hour('compute_sold') / hour('paid_to_providers'), 9);
  });

  test('answers 503 when the database does not', async () => {
    const broken = await freshDatabase();
    const brokenApp = buildApp(broken.db, noWorkflowCalls);
    await broken.drop();
    const res = await request(brokenApp).get('/metrics');
    expect(res.status).toBe(503);
  });
});
