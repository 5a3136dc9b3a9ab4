/**
 * `npm run fleet-simulator -- --hosts 1000 --provider-keys <k1,k2> [--api-url …]`: many simulated
 * hosts in one process, for scale work (bench/scale.bench.ts). Logs the fleet's counters every
 * --stats-interval. Exit codes: 0 after a signal, 2 for a bad command line, 1 otherwise.
 */
import { CommanderError } from 'commander';
import pino from 'pino';
import { Fleet } from './fleet';
import type { FleetSimulatorOptions } from './options';
import { parseFleetSimulatorOptions, UsageError } from './options';
import { planHosts } from './simulated-host';

function usageExit(message: string): never {
  process.stderr.write(`fleet-simulator: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let options: FleetSimulatorOptions;
  try {
    options = parseFleetSimulatorOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
    usageExit(error instanceof Error ? error.message : String(error));
  }
  const logger = pino({ level: options.logLevel, base: { service: 'fleet-simulator' } });
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      stop.abort(new Error(`received ${signal}`));
    });
  }
  const fleet = new Fleet({
    apiUrl: options.apiUrl,
    hosts: planHosts(options.hosts, options.hostPrefix, options.providerKeys, options.gpus),
    keyDir: options.keyDir,
    reportIntervalMs: options.reportIntervalMs,
    concurrency: options.concurrency,
    logger,
  });
  const stats = setInterval(() => logger.info({ stats: fleet.stats() }, 'fleet'), options.statsIntervalMs);
  try {
    await fleet.run(stop.signal);
    process.exit(0);
  } catch (error) {
    if (error instanceof UsageError) usageExit(error.message);
    if (stop.signal.aborted) process.exit(0);
    logger.fatal({ err: error }, 'fleet simulator failed');
    process.exit(1);
  } finally {
    clearInterval(stats);
  }
}

void main();
