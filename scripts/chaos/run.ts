/**
 * One chaos run, start to verdict: the stack up, `leases` one-GPU leases started while the storm begins, the
 * storm, every lease cancelled once the last victim is back, every lease waited for until it ended, then the
 * invariants. Shared by `npm run chaos` (scripts/chaos/main.ts) and the short test in `npm test`
 * (test/integration/chaos/kill-at-random.test.ts).
 */
import { sql } from 'kysely';
import { kindsOf, runStorm } from './driver';
import type { KillRecord } from './driver';
import type { InvariantResult } from './invariants';
import { checkInvariants } from './invariants';
import { cancelLease, createLease, leasesOnAgents, leaseStatus, planLeases } from './leases';
import { seededRandom } from './prng';
import type { ChaosStack, ProcessKind } from './stack';
import { startChaosStack, waitUntil } from './stack';

export interface ChaosOptions {
  topology: 'embedded' | 'cluster';
  leases: number;
  kills: number;
  seed: number;
  portBase: number;
  settlementPeriodSeconds: number;
  /** The engine's heartbeat timeout and proof interval, and how often the simulated hosts report (chaosTimings). */
  timings: ChaosTimings;
  gapMs: [number, number];
  /** How long after the storm the leases keep running (settling periods) before they are cancelled. */
  holdMs: number;
  log: NodeJS.WritableStream;
  /** Progress lines (the seed first, so that a run can be replayed). */
  say: (line: string) => void;
}

export interface ChaosSummary {
  ok: boolean;
  seed: number;
  topology: 'embedded' | 'cluster';
  leases: number;
  timings: ChaosTimings & { settlementPeriodSeconds: number };
  seconds: number;
  kills: {
    total: number;
    byKind: Record<string, number>;
    /** Kinds the stack has that no kill reached (more kills cover them). */
    uncovered: ProcessKind[];
    /** Kills whose victim did not come back and work within the recovery timeout. */
    notRecovered: number;
    /** ms from SIGKILL to working again, by kind: median and worst. */
    recoveryMs: Record<string, { p50: number; max: number }>;
    list: KillRecord[];
  };
  leasesByEndState: Record<string, number>;
  endReasons: Record<string, number>;
  /** Creates and cancels the API never answered (after retries over every API process). */
  requestFailures: string[];
  /** What the invariants were checked over: confirmed settlements of these leases and the seconds hosts proved. */
  settled: { periods: number; verifiedSeconds: number; failovers: number };
  invariants: InvariantResult[];
}

const count = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});

function recoveryByKind(kills: KillRecord[]): Record<string, { p50: number; max: number }> {
  const out: Record<string, { p50: number; max: number }> = {};
  for (const kind of new Set(kills.map((k) => k.kind))) {
    const times = kills.filter((k) => k.kind === kind && k.recoveredMs !== undefined).map((k) => k.recoveredMs!).sort((a, b) => a - b);
    if (times.length > 0) out[kind] = { p50: times[Math.floor((times.length - 1) / 2)]!, max: times[times.length - 1]! };
  }
  return out;
}

export interface ChaosTimings {
  heartbeatTimeoutSeconds: number;
  proofIntervalSeconds: number;
  reportIntervalSeconds: number;
}

/**
 * Timings for a run of `leases`: up to 100, fast ones (failover in seconds: a short run sees many); beyond, the
 * engine's defaults, since proofs every second from hundreds of GPUs are more than 2 cores verify (300 receipts/s).
 */
export function chaosTimings(leases: number): ChaosTimings {
  return leases <= 100
    ? { heartbeatTimeoutSeconds: 4, proofIntervalSeconds: 1, reportIntervalSeconds: 1 }
    : { heartbeatTimeoutSeconds: 10, proofIntervalSeconds: 5, reportIntervalSeconds: 2 };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const random = seededRandom(opts.seed);
  opts.say(`seed ${opts.seed} (replay with --seed ${opts.seed}); ${opts.topology} topology, ${opts.leases} leases, ${opts.kills} kills; ` +
    `periods ${opts.settlementPeriodSeconds} s, heartbeat timeout ${opts.timings.heartbeatTimeoutSeconds} s, proofs every ${opts.timings.proofIntervalSeconds} s`);
  const stack: ChaosStack = await startChaosStack({
    topology: opts.topology,
    // Room for every H100 lease and for failing each over once (two GPUs a host, a host per H100 lease).
    simulatedHosts: Math.max(2, opts.leases - leasesOnAgents(opts.leases)),
    portBase: opts.portBase,
    settlementPeriodSeconds: opts.settlementPeriodSeconds,
    ...opts.timings,
    log: opts.log,
  });
  try {
    const plans = planLeases(opts.leases, stack.customerKeys, random);
    opts.say(`stack up in ${Math.round((Date.now() - started) / 1000)} s; data in ${stack.dataDir}; processes: ${stack.targets().map((t) => t.name).join(', ')}`);
    const owner = new Map<string, string>();
    // The leases start while the storm begins: creations, reservations and first deposits meet kills too.
    // A request the engine never answers is a finding of the run, not the end of it: it is reported with the verdict.
    const requestFailures: string[] = [];
    const creating = (async () => {
      for (const plan of plans) {
        await createLease(stack.apiUrl, plan).then((id) => owner.set(id, plan.customerKey), (error: Error) => requestFailures.push(`create: ${error.message}`));
      }
    })();
    const kills = await runStorm(stack, {
      kills: opts.kills,
      random,
      gapMs: opts.gapMs,
      downMs: [0, 6_000],
      recoveryTimeoutMs: 120_000,
      onKill: (kill) => opts.say(`kill ${kill.kind} ${kill.name} (pid ${kill.pid}) at +${Math.round(kill.at / 1000)} s: ${
        kill.error ? `NOT RECOVERED: ${kill.error}` : `working again after ${kill.recoveredMs} ms`}`),
    });
    await creating;
    const leaseIds = [...owner.keys()];
    opts.say(`storm over; holding ${opts.holdMs} ms, then cancelling ${leaseIds.length} leases`);
    await new Promise((resolve) => setTimeout(resolve, opts.holdMs));
    const cancels = await Promise.allSettled(leaseIds.map((id) => cancelLease(stack.apiUrl, owner.get(id)!, id)));
    for (const [i, cancel] of cancels.entries()) {
      if (cancel.status === 'rejected') requestFailures.push(`cancel ${leaseIds[i]}: ${(cancel.reason as Error).message}`);
    }
    const terminal = new Set(['completed', 'cancelled', 'failed']);
    await waitUntil(async () => {
      const states = await Promise.all(leaseIds.map((id) => leaseStatus(stack.apiUrl, owner.get(id)!, id)));
      return states.every((s) => terminal.has(s.status));
    }, 180_000, 'every lease ended').catch((error: Error) => opts.say(error.message));

    // A closing settlement may still be confirming: the checks are repeated for a while before they are final.
    const src = { db: stack.db, workflow: stack.workflow, chain: stack.chain() };
    const checkUntil = Date.now() + 60_000;
    let invariants = await checkInvariants(src, leaseIds);
    while (!invariants.every((r) => r.ok) && Date.now() < checkUntil) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      invariants = await checkInvariants(src, leaseIds);
    }
    const rows = await stack.db.selectFrom('leases').select(['status', 'end_reason', 'failover_count']).where('id', 'in', leaseIds).execute();
    const periods = await stack.db.selectFrom('settlements').select(sql<string>`count(*)`.as('n'))
      .where('lease_id', 'in', leaseIds).where('status', '=', 'confirmed').executeTakeFirstOrThrow();
    const seconds = await stack.db.selectFrom('assignments').select(sql<string>`coalesce(sum(verified_seconds), 0)`.as('s'))
      .where('lease_id', 'in', leaseIds).executeTakeFirstOrThrow();
    const covered = new Set(kills.filter((k) => !k.error).map((k) => k.kind));
    const uncovered = kindsOf(stack.targets()).filter((kind) => !covered.has(kind));
    const notRecovered = kills.filter((k) => k.error).length;
    const failed = invariants.filter((r) => !r.ok).map((r) => r.name);
    opts.say(`${failed.length === 0 ? 'every invariant held' : `VIOLATED: ${failed.join('; ')}`}; ${notRecovered} victims not back; ` +
      `${requestFailures.length} requests unanswered; ` +
      `leases ${JSON.stringify(count(rows.map((r) => r.status)))}; ${periods.n} periods settled`);
    return {
      ok: invariants.every((r) => r.ok) && notRecovered === 0 && requestFailures.length === 0,
      seed: opts.seed,
      topology: opts.topology,
      leases: leaseIds.length,
      timings: { settlementPeriodSeconds: opts.settlementPeriodSeconds, ...opts.timings },
      seconds: Math.round((Date.now() - started) / 1000),
      kills: { total: kills.length, byKind: count(kills.map((k) => k.kind)), uncovered, notRecovered, recoveryMs: recoveryByKind(kills), list: kills },
      leasesByEndState: count(rows.map((r) => r.status)),
      endReasons: count(rows.map((r) => r.end_reason ?? '(none)')),
      requestFailures,
      settled: { periods: Number(periods.n), verifiedSeconds: Number(seconds.s), failovers: rows.reduce((sum, r) => sum + r.failover_count, 0) },
      invariants,
    };
  } finally {
    await stack.stop();
  }
}
