/**
 * `npm run chaos -- --leases 50 --kills 20 [--topology embedded] [--seed N]`: kill-at-random over a whole
 * stack (issue 9 item 4; the cluster topology by default). Progress on stderr (the seed first), the processes'
 * output in the --log file, the JSON summary on stdout. Exit codes: 0 every invariant held, every victim came
 * back and every request was answered; 1 otherwise; 2 a bad command line.
 */
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { newSeed } from './prng';
import { chaosTimings, runChaos } from './run';

const int = (min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
  return n;
};

async function main(): Promise<void> {
  const command = new Command('chaos')
    .description('SIGKILLs randomly chosen processes of a running engine at random moments, restarts them, then checks that no lease or token was lost')
    .option('--leases <n>', '1-GPU leases started as the storm begins', int(1, 2_000), 50)
    .option('--kills <n>', 'processes killed in all (every kind the stack has at least once when this allows)', int(1, 1_000), 20)
    .addOption(new Option('--topology <name>', 'embedded: dev server, one API, one control worker; cluster: Temporal\'s server on PostgreSQL, two of each')
      .choices(['embedded', 'cluster']).default('cluster'))
    .option('--seed <n>', 'PRNG seed: the same seed replays the same victims and delays', int(0, 2 ** 31 - 1))
    .option('--period <seconds>', 'settlement period', int(5, 3_600), 5)
    .option('--heartbeat-timeout <seconds>', 'the engine\'s heartbeat timeout (default: 4 up to 100 leases, else 10)', int(3, 600))
    .option('--proof-interval <seconds>', 'seconds between a GPU\'s receipts (default: 1 up to 100 leases, else 5)', int(1, 60))
    .option('--report-interval <seconds>', 'how often a simulated host reports (default: 1 up to 100 leases, else 2)', int(1, 60))
    .option('--gap <ms>', 'longest random pause before a kill (the shortest is a fifth of it)', int(100, 600_000), 8_000)
    .option('--hold <seconds>', 'leases keep running this long after the storm before they are cancelled', int(0, 3_600), 10)
    .option('--port-base <port>', 'first of the ports the stack takes (it uses base … base+810)', int(1_024, 31_000), 24_000)
    .option('--log <file>', 'where the processes\' output goes', path.join(os.tmpdir(), `lease-engine-chaos-${process.pid}.log`))
    .exitOverride();
  try {
    command.parse(process.argv.slice(2), { from: 'user' });
  } catch (error) {
    process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
  }
  const o = command.opts<{ leases: number; kills: number; topology: 'embedded' | 'cluster'; seed?: number; period: number; gap: number; hold: number;
    portBase: number; log: string; heartbeatTimeout?: number; proofInterval?: number; reportInterval?: number }>();
  const defaults = chaosTimings(o.leases);
  const timings = {
    heartbeatTimeoutSeconds: o.heartbeatTimeout ?? defaults.heartbeatTimeoutSeconds,
    proofIntervalSeconds: o.proofInterval ?? defaults.proofIntervalSeconds,
    reportIntervalSeconds: o.reportInterval ?? defaults.reportIntervalSeconds,
  };
  if (timings.proofIntervalSeconds * 2 > timings.heartbeatTimeoutSeconds) {
    process.stderr.write('chaos: --heartbeat-timeout must be at least twice --proof-interval (the engine refuses less)\n');
    process.exit(2);
  }
  const say = (line: string) => process.stderr.write(`chaos | ${line}\n`);
  say(`processes' output in ${o.log}`);
  const summary = await runChaos({
    topology: o.topology, leases: o.leases, kills: o.kills, seed: o.seed ?? newSeed(), portBase: o.portBase, settlementPeriodSeconds: o.period, timings,
    gapMs: [Math.round(o.gap / 5), o.gap], holdMs: o.hold * 1_000, log: createWriteStream(o.log), say,
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exit(summary.ok ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos | failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
