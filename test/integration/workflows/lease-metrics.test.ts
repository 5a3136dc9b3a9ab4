/**
 * The control worker's histograms and the API's ledger counters after a real lease: a settlement
 * confirmed on the chain node and a host SIGKILLed mid-lease, scraped over HTTP as Prometheus would.
 */
import { serveMetrics, type MetricsServer } from '../../../infra/metrics/registry';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';

let engine: TestEngine;
let control: MetricsServer;

beforeAll(async () => {
  engine = await startEngine({
    heartbeatTimeoutSeconds: 4,
    hosts: [
      { hostId: 'mx-first', provider: 'mx-atlas', tier: 1, gpus: 'A100:80:2.00x1' },
      { hostId: 'mx-second', provider: 'mx-borealis', tier: 1, gpus: 'A100:80:2.40x1' },
    ],
  });
  control = await serveMetrics(engine.controlMetrics!.registry, 0, '127.0.0.1');
});
afterAll(async () => {
  await control?.close();
  await engine?.stop();
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of an unlabelled series (a histogram's _sum and _count, a counter); undefined when absent. */
function valueOf(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const histogram = (text: string, name: string) => ({ count: valueOf(text, `${name}_count`) ?? 0, sum: valueOf(text, `${name}_sum`) ?? 0 });

test('a scrape shows the settlement lag, the failover duration and the ledger money of a real lease', async () => {
  const controlUrl = `http://127.0.0.1:${control.port}/metrics`;
  const idle = await scrape(controlUrl);
  expect(histogram(idle, 'lease_engine_failover_duration_seconds').count).toBe(0);
  expect(idle).toMatch(/^lease_engine_failover_duration_seconds_bucket\{le="10"\} 0$/m);

  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '5', durationSeconds: 300, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  await waitFor(async () => (await engine.request('GET', `/v1/leases/${leaseId}`)).body.status === 'running', 30_000, 'lease running');
  // A lease that starts is no failover.
  expect(histogram(await scrape(controlUrl), 'lease_engine_failover_duration_seconds').count).toBe(0);

  // Settlement lag: the first period's settle, sent and confirmed, measured from the period's end.
  const settled = await waitFor(async () => {
    const text = await scrape(controlUrl);
    return histogram(text, 'lease_engine_settlement_lag_seconds').count >= 1 && text;
  }, 30_000, 'a settlement confirmed');
  const lag = histogram(settled, 'lease_engine_settlement_lag_seconds');
  const confirmed = await engine.database.db.selectFrom('settlements').select(['period', 'confirmed_at'])
    .where('lease_id', '=', leaseId).where('status', '=', 'confirmed').execute();
  expect(confirmed.length).toBeGreaterThanOrEqual(lag.count);
  // Sent after the period closed and its receipts were digested, confirmed by the local chain in a few seconds.
  expect(lag.sum / lag.count).toBeGreaterThan(0);
  expect(lag.sum / lag.count).toBeLessThan(15);

  // Failover: from the fault the fleet monitor signalled to the replacement reported running.
  const killedAt = Date.now();
  engine.killHost('mx-first');
  await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    const live = (lease.assignments as { hostId: string; endedAt: string | null }[]).filter((a) => a.endedAt === null);
    return lease.status === 'running' && live.length === 1 && live[0]!.hostId === 'mx-second';
  }, 40_000, 'replacement running');
  const recoveredAt = Date.now();
  const afterFailover = await waitFor(async () => {
    const text = await scrape(controlUrl);
    return histogram(text, 'lease_engine_failover_duration_seconds').count === 1 && text;
  }, 5_000, 'the failover timed');
  const failover = histogram(afterFailover, 'lease_engine_failover_duration_seconds');
  expect(valueOf(afterFailover, 'lease_engine_failovers_total')).toBe(1);
  const lost = await engine.database.db.selectFrom('assignments').select(['fault_signalled_at', 'end_reason'])
    .where('lease_id', '=', leaseId).where('host_id', '=', 'mx-first').executeTakeFirstOrThrow();
  // Whichever the monitor saw first: the host's silence, or its container proving nothing for as long.
  expect(['host_lost', 'host_unhealthy']).toContain(lost.end_reason);
  // The fault was signalled after the kill (detection takes the heartbeat timeout), so the duration is shorter than kill → running.
  expect(lost.fault_signalled_at!.getTime()).toBeGreaterThan(killedAt);
  expect(failover.sum).toBeGreaterThan(0);
  expect(failover.sum).toBeLessThan((recoveredAt - killedAt) / 1000);

  const cancelled = await engine.request('POST', `/v1/leases/${leaseId}/cancel`);
  expect([200, 202]).toContain(cancelled.status);
  await waitFor(async () => (await engine.request('GET', `/v1/leases/${leaseId}`)).body.status === 'cancelled', 30_000, 'cancelled');

  // The API's ledger counters agree with the confirmed ledger to the base unit once the lease is closed.
  const api = await scrape(`${engine.apiUrl}/metrics`);
  const books = await engine.database.db.selectFrom('settlements')
    .select((eb) => [eb.fn.sum<string>('gross').as('gross'), eb.fn.sum<string>('fee').as('fee'), eb.fn.sum<string>('burned').as('burned')])
    .where('status', '=', 'confirmed').executeTakeFirstOrThrow();
  expect(valueOf(api, 'lease_engine_compute_sold_base_units_total')).toBe(Number(books.gross));
  expect(valueOf(api, 'lease_engine_fees_base_units_total')).toBe(Number(books.fee));
  expect(valueOf(api, 'lease_engine_burned_base_units_total')).toBe(Number(books.burned));
  expect(valueOf(api, 'lease_engine_paid_to_providers_base_units_total')).toBe(Number(books.gross) - Number(books.fee) - Number(books.burned));
  expect(Number(books.gross)).toBeGreaterThan(0);
  const ratio = valueOf(api, 'lease_engine_network_revenue_to_incentive_ratio')!;
  expect(ratio).toBeGreaterThan(1);
  expect(ratio).toBeCloseTo(Number(books.gross) / (Number(books.gross) - Number(books.fee) - Number(books.burned)), 9);
}, 180_000);
