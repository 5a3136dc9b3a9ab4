/**
 * Kill-at-random, short form (issue 9 item 4; `npm run chaos` is the long one): the whole engine as
 * `npm start` runs it, on the cluster topology when Temporal's server is installed (scripts/setup.sh test
 * builds it; the embedded one otherwise), 12 one-GPU leases on 5 s periods started as 10 SIGKILLs begin
 * (every process kind once at least: control worker, API, each Temporal service, PostgreSQL, the chain node,
 * a host agent, the fleet simulator), each victim restarted; then every lease cancelled and ended, and
 * nothing lost: no lease stuck, no GPU held twice, no period paid twice, every escrow balanced on the chain
 * and in the ledger, every provider paid exactly its verified seconds. The seed is printed: CHAOS_SEED=<n>
 * replays a failure.
 */
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTemporalServer } from '../../../infra/temporal/cluster-server';
import { newSeed } from '../../../scripts/chaos/prng';
import { chaosTimings, runChaos } from '../../../scripts/chaos/run';
import { stopLiveStacks } from '../../../scripts/chaos/stack';

const topology = findTemporalServer() ? 'cluster' : 'embedded';
const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : newSeed();
const REQUIRED_KINDS = ['control-worker', 'api', 'postgresql', 'chain', 'host-agent', 'fleet-simulator'];
const logFile = path.join(os.tmpdir(), `lease-engine-chaos-test-${process.pid}.log`);

// Only does something when the test timed out with the stack still up.
afterAll(() => stopLiveStacks(), 60_000);

test(`leases survive 10 random SIGKILLs of every process kind (${topology} topology)`, async () => {
  const summary = await runChaos({
    topology,
    leases: 12,
    kills: 10,
    seed,
    // Away from the defaults and from other tests' fixed ports; the launcher refuses ports in use, by name.
    portBase: 22_000 + 10 * Math.floor(Math.random() * 800),
    settlementPeriodSeconds: 5,
    timings: chaosTimings(12),
    gapMs: [500, 3_000],
    holdMs: 5_000,
    log: createWriteStream(logFile),
    say: (line) => process.stderr.write(`chaos | ${line}\n`),
  });
  const context = `seed ${seed}; processes' output in ${logFile}; ${JSON.stringify({ ...summary, kills: { ...summary.kills, list: undefined } })}`;

  // Every kind the stack runs was killed and came back working; every invariant held.
  const missing = REQUIRED_KINDS.filter((kind) => !(summary.kills.byKind[kind]! > 0));
  expect({
    missing,
    uncovered: summary.kills.uncovered,
    notRecovered: summary.kills.list.filter((kill) => kill.error !== undefined),
    requestFailures: summary.requestFailures,
    violations: summary.invariants.flatMap((invariant) => invariant.violations.map((v) => `${invariant.name}: ${v}`)),
    context,
  }).toEqual({ missing: [], uncovered: [], notRecovered: [], requestFailures: [], violations: [], context });
  expect(summary.invariants.map((invariant) => invariant.name)).toHaveLength(5);
  expect(summary.leases).toBe(12);
  expect(summary.ok).toBe(true);
}, 300_000);
