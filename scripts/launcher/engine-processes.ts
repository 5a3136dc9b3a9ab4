import path from 'node:path';
import type { DemoHost } from './demo-fleet';
import { simulateGpusOption } from './demo-fleet';
import type { ProcessSpec } from './supervisor';

/** The repository root: child processes run there, so `--import tsx` resolves from node_modules. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** A TypeScript entry point run by this Node with tsx's loader: one process per child, no wrapper. */
function tsProcess(name: string, file: string, args: string[], env: NodeJS.ProcessEnv, restart: boolean): ProcessSpec {
  return { name, command: process.execPath, args: ['--import', 'tsx', path.join(ROOT, file), ...args], env, cwd: ROOT, restart };
}

export const apiProcess = (env: NodeJS.ProcessEnv): ProcessSpec => tsProcess('api', 'api/server.ts', [], env, true);

/**
 * Plain node on start.cjs, no tsx loader: it runs the worker compiled ahead while its sources are unchanged
 * (a restart polls again within seconds), the TypeScript through tsx otherwise.
 */
export const controlWorkerProcess = (env: NodeJS.ProcessEnv): ProcessSpec => ({
  name: 'control-worker', command: process.execPath, args: [path.join(ROOT, 'workers/control/start.cjs')], env, cwd: ROOT, restart: true,
});

/**
 * The local chain node (SOLANA_RPC_URL unset). Restarted when it dies: it persists every committed
 * transaction before it answers, so a new process starts from the same accounts.
 */
export const chainNodeProcess = (launch: { port: number; dataDir: string }, env: NodeJS.ProcessEnv): ProcessSpec =>
  tsProcess('chain', 'infra/solana/chain-node/main.ts', ['--port', String(launch.port), '--data-dir', launch.dataDir], env, true);

export interface HostAgentLaunch {
  host: DemoHost;
  providerKey: string;
  apiUrl: string;
  dataDir: string;
}

/**
 * One demo host agent. Not restarted: a host that dies is what failover is for. The provider key goes
 * in the environment (PROVIDER_KEY, which the agent reads) rather than argv, where `ps` would show it.
 * It gets nothing else of the engine's environment: a provider's machine holds no Temporal address,
 * database URL or settlement key, and the demo's agents are run as if they were on one.
 */
export function hostAgentProcess(launch: HostAgentLaunch, engineEnv: NodeJS.ProcessEnv): ProcessSpec {
  const { host } = launch;
  const kept = ['PATH', 'HOME', 'LOG_LEVEL', 'DOCKER_SOCKET'].filter((name) => engineEnv[name] !== undefined);
  const env: NodeJS.ProcessEnv = Object.fromEntries(kept.map((name) => [name, engineEnv[name]]));
  const args = [
    '--host-id', host.hostId,
    '--simulate-gpus', simulateGpusOption(host),
    '--api-url', launch.apiUrl,
    '--key-file', path.join(launch.dataDir, 'hosts', `${host.hostId}.key.json`),
  ];
  return tsProcess(host.hostId, 'workers/host-agent/main.ts', args, { ...env, PROVIDER_KEY: launch.providerKey }, false);
}
