/**
 * What one host report costs the engine (DESIGN §3, issue 9): `acceptReport` as the API runs it, against
 * a throwaway PostgreSQL 15, for H hosts with one running assignment each, every report carrying that
 * assignment's container state and its next receipt (signed with the host's real key). Reports go C at a
 * time, as many API requests would. Prints CPU per report of this process (the API's share: validation
 * aside, signatures, queries, their round trips) and of PostgreSQL, wall time per report, statements per
 * report, and the floor measured the same way in the same run: a bare `select 1` round trip.
 *
 *   npm run -s bench:host-report -- [--hosts 200] [--reports 6000] [--concurrency 16]
 *
 * The HTTP layer (express, body parsing, the request signature) is not in these figures: bench:scale
 * measures the whole API process.
 */
import { Command, InvalidArgumentError } from 'commander';
import { sql } from 'kysely';
import { acceptReport, DEFAULT_REPORT_POLICY } from '../api/host-reports';
import { generateHostKey } from '../domain/host-key';
import type { ProofReceipt } from '../domain/proof-receipt';
import { Limiter } from '../workers/fleet-simulator/limiter';
import type { TestAssignment } from '../test/support/assignments';
import { openTestAssignment, reservedGpu, signChain } from '../test/support/assignments';
import { freshDatabase, startPostgresCluster } from '../test/support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../test/support/seed';
import { deferCleanup, log, runBenchmark } from './support/lifecycle';
import { percentiles } from './support/percentiles';
import { findProcess, sampleUsage } from './support/process-usage';

const int = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
  return n;
};

const opts = new Command()
  .option('--hosts <n>', 'hosts, one running assignment each', int(1), 200)
  .option('--reports <n>', 'reports measured (spread over the hosts in turn)', int(1), 6_000)
  .option('--concurrency <n>', 'reports in flight at once', int(1), 16)
  .parse()
  .opts<{ hosts: number; reports: number; concurrency: number }>();

/** Receipts one proof interval apart in host time; the engine pays by its own clock, which this does not read. */
const PROOF_INTERVAL_MS = 1_000;

interface BenchHost {
  hostId: string;
  assignment: TestAssignment;
  /** Its receipt chain, signed before the clock starts (signing is the host's CPU, not the engine's), one per report. */
  chain: ProofReceipt[];
  sent: number;
  /** A host sends its next report once the last is answered, as the agent does. */
  queue: Promise<unknown>;
}

runBenchmark('host-report', async () => {
  const cluster = await startPostgresCluster();
  deferCleanup('postgres cluster', () => cluster.stop());
  process.env.TEST_POSTGRES_ADMIN_URL = cluster.adminUrl;
  const postgresPid = findProcess(['postgres', '-D', cluster.dir]);
  const fresh = await freshDatabase({ max: 10 });
  deferCleanup('database', () => fresh.drop());
  const { db } = fresh;

  const customerId = await seedCustomer(db);
  const providerId = await seedProvider(db, 1);
  // Every receipt dated in the past, one proof interval apart: what the engine pays is bounded by its own clock.
  const perHost = Math.ceil(opts.reports / opts.hosts) + 1;
  const startedAt = Date.now() - (perHost + 60) * PROOF_INTERVAL_MS;
  const hosts: BenchHost[] = [];
  for (let i = 0; i < opts.hosts; i += 1) {
    const key = generateHostKey();
    const hostId = await seedHost(db, { providerId, publicKey: key.publicKey });
    const [gpuId] = await seedGpus(db, { hostId });
    const leaseId = await seedLease(db, customerId);
    const assignment = await openTestAssignment(db, leaseId, reservedGpu(gpuId!, hostId, providerId), { epoch: 1, proofIntervalMs: PROOF_INTERVAL_MS });
    await db.updateTable('assignments').set({ started_at: new Date(startedAt) }).where('id', '=', assignment.assignmentId).execute();
    const chain = signChain(assignment, key.secretKey, { count: perHost, startAt: startedAt + 1_000, intervalMs: PROOF_INTERVAL_MS });
    hosts.push({ hostId, assignment, chain, sent: 0, queue: Promise.resolve() });
  }
  log.info({ hosts: hosts.length, receiptsEach: perHost }, 'hosts seeded, receipts signed');

  const reportOnce = async (host: BenchHost): Promise<number> => {
    const receipt = host.chain[host.sent];
    if (!receipt) throw new Error(`host ${host.hostId} has no receipt left`);
    host.sent += 1;
    const sent = performance.now();
    const answer = await acceptReport(db, host.hostId, {
      containers: [{ assignmentId: host.assignment.assignmentId, epoch: host.assignment.epoch, state: 'running' }],
      receipts: [receipt],
    }, DEFAULT_REPORT_POLICY);
    const ms = performance.now() - sent;
    if (answer.accepted !== 1) throw new Error(`a receipt was refused: ${JSON.stringify(answer.rejected)}`);
    return ms;
  };

  const statements = async () => {
    const { rows } = await sql<{ n: string }>`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`.execute(db);
    return Number(rows[0]!.n);
  };

  // Warm up: every host's first receipt (which pays nothing) and the connection pool.
  const limiter = new Limiter(opts.concurrency);
  await Promise.all(hosts.map((host) => limiter.run(() => reportOnce(host))));
  const inTurn = (host: BenchHost): Promise<number> => {
    const next = host.queue.then(() => limiter.run(() => reportOnce(host)));
    host.queue = next.catch(() => undefined);
    return next;
  };

  const measure = async (count: number, one: (i: number) => Promise<number>) => {
    const walls: number[] = [];
    const parts = { bench: process.pid, postgres: postgresPid };
    const transactionsBefore = await statements();
    const cpuBefore = process.cpuUsage();
    const usageBefore = sampleUsage(parts);
    const started = performance.now();
    await Promise.all([...Array(count).keys()].map(async (i) => walls.push((await one(i)) * 1000)));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const usageAfter = sampleUsage(parts);
    // PostgreSQL publishes a backend's counters when it goes idle, at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const transactions = (await statements()) - transactionsBefore - 1;
    const postgresCpuSeconds = usageAfter.parts.postgres!.cpuSeconds - usageBefore.parts.postgres!.cpuSeconds;
    return {
      n: count,
      perSecond: Math.round(count / seconds),
      wallUs: percentiles(walls),
      engineCpuUsPerCall: Math.round((cpu.user + cpu.system) / count),
      postgresCpuUsPerCall: Math.round((postgresCpuSeconds * 1e6) / count),
      /** A statement outside a transaction counts as one. */
      postgresTransactionsPerCall: Math.round((transactions / count) * 100) / 100,
    };
  };

  const reports = await measure(opts.reports, (i) => inTurn(hosts[i % hosts.length]!));
  const floor = await measure(opts.reports, () => limiter.run(async () => {
    const sent = performance.now();
    await sql`select 1`.execute(db);
    return performance.now() - sent;
  }));

  const paid = await db.selectFrom('assignments').select((eb) => eb.fn.sum<string>('verified_seconds').as('s')).executeTakeFirstOrThrow();
  return {
    benchmark: 'host-report',
    date: new Date().toISOString(),
    setup: { hosts: opts.hosts, reports: opts.reports, concurrency: opts.concurrency, receiptsPerReport: 1, poolSize: 10,
      note: 'acceptReport in this process (no HTTP); CPU of this process and of every PostgreSQL process; PostgreSQL 15, fsync off' },
    report: reports,
    floor: { selectOne: floor },
    check: { verifiedSecondsPaid: Number(paid.s ?? 0) },
  };
});
