/**
 * Command line of the fleet simulator. Every value is checked before anything starts; a bad one is
 * reported with the option's name (main exits 2).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { httpUrl, integer, parseCommandLine, rule, seconds, UsageError } from '../command-line';
import type { SimulatedGpuSpec } from '../host-agent/simulated-gpu';
import { parseSimulatedGpuSpec } from '../host-agent/simulated-gpu';

export { UsageError };

export interface FleetSimulatorOptions {
  hosts: number;
  apiUrl: string;
  providerKeys: string[];
  gpus: SimulatedGpuSpec[];
  hostPrefix: string;
  keyDir: string;
  reportIntervalMs: number;
  concurrency: number;
  statsIntervalMs: number;
  logLevel: string;
}

/** Room for "-" and five digits within the API's 63-character host ids. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,50}$/;

function buildCommand(): Command {
  return new Command('fleet-simulator')
    .description('Simulates many GPU hosts in one process for scale work: real keys, the real host protocol, no containers (and receipts that say so). Never part of the demo fleet.')
    .requiredOption('--hosts <n>', 'number of simulated hosts', integer(1, 10_000))
    .addOption(new Option('--api-url <url>', 'lease-engine API').env('API_URL').default('http://127.0.0.1:8080')
      .argParser(httpUrl))
    .addOption(new Option('--provider-keys <keys>', 'providers\' API keys, comma-separated; hosts are spread over them round-robin')
      .env('PROVIDER_KEYS').argParser(rule((value) => {
        const keys = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
        if (keys.length === 0) throw new Error('expected at least one key');
        return keys;
      })))
    .option('--gpus <spec>', 'simulated GPUs of each host, model:vramGb:pricePerGpuHour[xcount],…', rule(parseSimulatedGpuSpec),
      parseSimulatedGpuSpec('H100:80:2.00x1'))
    .option('--host-prefix <prefix>', 'host ids are <prefix>-<index>', rule((value) => {
      if (!PREFIX.test(value)) throw new Error('use 1-51 letters, digits, "-" or "_", starting with a letter or digit');
      return value;
    }), 'sim')
    .option('--key-dir <path>', 'where the hosts\' keys are kept (created at first start)')
    .addOption(new Option('--report-interval <s>', 'report at least this often (and every proof interval while a lease runs)')
      .default(2_000, '2').argParser(seconds(0.1, 60)))
    .addOption(new Option('--concurrency <n>', 'reports and registrations in flight at most').default(64).argParser(integer(1, 1024)))
    .addOption(new Option('--stats-interval <s>', 'how often to log the fleet\'s counters').default(10_000, '10').argParser(seconds(1, 3600)))
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .exitOverride()
    .showHelpAfterError(false);
}

/** Parses `argv` (without node and script). Throws UsageError for a bad command line, CommanderError (exit 0) after --help. */
export function parseFleetSimulatorOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): FleetSimulatorOptions {
  const command = buildCommand();
  parseCommandLine(command, argv);
  const raw = command.opts<{
    hosts: number; apiUrl: string; providerKeys?: string[]; gpus: SimulatedGpuSpec[]; hostPrefix: string; keyDir?: string;
    reportInterval: number; concurrency: number; statsInterval: number; logLevel: string;
  }>();
  if (!raw.providerKeys) throw new UsageError('option --provider-keys (or PROVIDER_KEYS) is required');
  if (raw.hosts > 10 ** 5) throw new UsageError('option --hosts: at most 100000');
  return {
    hosts: raw.hosts,
    apiUrl: raw.apiUrl,
    providerKeys: raw.providerKeys,
    gpus: raw.gpus,
    hostPrefix: raw.hostPrefix,
    keyDir: raw.keyDir ?? path.join(env.DATA_DIR ?? 'data', 'fleet-simulator', raw.hostPrefix),
    reportIntervalMs: raw.reportInterval,
    concurrency: raw.concurrency,
    statsIntervalMs: raw.statsInterval,
    logLevel: raw.logLevel,
  };
}
