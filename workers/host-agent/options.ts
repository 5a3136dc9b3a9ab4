/**
 * Command line of the host agent. Every value is checked here, before anything starts, and a bad one
 * is reported with the option's name (main exits 2).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { httpUrl, parseCommandLine, rule, seconds, UsageError } from '../command-line';
import type { ContainerNetwork } from './docker-runtime';
import type { SimulatedGpuSpec } from './simulated-gpu';
import { parseSimulatedGpuSpec } from './simulated-gpu';

export { UsageError };

export interface HostAgentOptions {
  hostId: string;
  apiUrl: string;
  providerKey: string;
  keyFile: string;
  simulateGpus: SimulatedGpuSpec[] | undefined;
  gpuPrice: string | undefined;
  dockerSocket: string;
  containerNetwork: ContainerNetwork;
  pidsLimit: number;
  /** 0: no memory limit. */
  memoryBytes: number;
  reportIntervalMs: number;
  logLevel: string;
}

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const DECIMAL = /^\d+(\.\d{1,6})?$/;

function buildCommand(): Command {
  return new Command('host-agent')
    .description('Runs lease containers on this machine for lease-engine. Talks only to the API, every request signed by the host key.')
    .requiredOption('--host-id <id>', 'this host\'s id (letters, digits, "-", "_")', rule((value) => {
      if (!HOST_ID.test(value)) throw new Error('use 1-63 letters, digits, "-" or "_", starting with a letter or digit');
      return value;
    }))
    .addOption(new Option('--api-url <url>', 'lease-engine API').env('API_URL').default('http://127.0.0.1:8080')
      .argParser(httpUrl))
    .addOption(new Option('--provider-key <key>', 'the provider\'s API key').env('PROVIDER_KEY'))
    .option('--key-file <path>', 'host key (created at first start)', undefined)
    .option('--simulate-gpus <spec>', 'GPUs to simulate when there is no NVIDIA GPU, e.g. H100:80:2.50x2,A100:80:1.80x1',
      rule(parseSimulatedGpuSpec))
    .option('--gpu-price <decimal>', 'price per GPU-hour of the physical GPUs', rule((value) => {
      if (!DECIMAL.test(value) || Number(value) <= 0) throw new Error('expected a decimal above 0 with at most 6 places, e.g. 2.50');
      return value;
    }))
    .addOption(new Option('--docker-socket <path>', 'Docker engine socket').env('DOCKER_SOCKET')
      .default('/var/run/docker.sock'))
    .addOption(new Option('--container-network <mode>', 'network of lease containers: none, or host if this machine allows it')
      .choices(['none', 'host']).env('CONTAINER_NETWORK').default('none'))
    .addOption(new Option('--container-pids-limit <n>', 'most processes in one lease container').env('CONTAINER_PIDS_LIMIT')
      .default(4096).argParser(rule((value) => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 16 || n > 1_000_000) throw new Error('expected an integer from 16 to 1000000');
        return n;
      })))
    .addOption(new Option('--container-memory-mib <n>', 'memory limit of one lease container in MiB (0: none)').env('CONTAINER_MEMORY_MIB')
      .default(0).argParser(rule((value) => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || (n !== 0 && n < 64) || n > 16_777_216) throw new Error('expected 0 or an integer from 64 to 16777216');
        return n;
      })))
    .addOption(new Option('--report-interval <s>', 'how often the agent reports to the API (it is lost after the heartbeat timeout without one)')
      .env('REPORT_INTERVAL_SECONDS').default(2_000, '2').argParser(seconds(0.1, 60)))
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .exitOverride()
    .showHelpAfterError(false);
}

/**
 * Parses `argv` (without node and script; environment defaults from process.env). Throws UsageError
 * for a bad command line and CommanderError with exitCode 0 after --help.
 */
export function parseHostAgentOptions(argv: string[]): HostAgentOptions {
  const command = buildCommand();
  parseCommandLine(command, argv);
  const raw = command.opts<{
    hostId: string;
    apiUrl: string;
    providerKey?: string;
    keyFile?: string;
    simulateGpus?: SimulatedGpuSpec[];
    gpuPrice?: string;
    dockerSocket: string;
    containerNetwork: ContainerNetwork;
    containerPidsLimit: number;
    containerMemoryMib: number;
    reportInterval: number;
    logLevel: string;
  }>();
  if (!raw.providerKey) throw new UsageError('option --provider-key (or PROVIDER_KEY) is required');
  return {
    hostId: raw.hostId,
    apiUrl: raw.apiUrl,
    providerKey: raw.providerKey,
    keyFile: raw.keyFile ?? path.join(process.env.DATA_DIR ?? 'data', 'hosts', `${raw.hostId}.key.json`),
    simulateGpus: raw.simulateGpus,
    gpuPrice: raw.gpuPrice,
    dockerSocket: raw.dockerSocket,
    containerNetwork: raw.containerNetwork,
    pidsLimit: raw.containerPidsLimit,
    memoryBytes: raw.containerMemoryMib * 1024 * 1024,
    reportIntervalMs: raw.reportInterval,
    logLevel: raw.logLevel,
  };
}
