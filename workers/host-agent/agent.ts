/**
 * One host agent: its key, its GPUs, its registration, and the loops that keep its Docker engine at
 * the desired state the API gives it and report back. It needs the API URL and its keys, nothing else.
 * Runs until `signal` aborts; the lease containers it started keep running when it stops (the next
 * agent on this host takes them over).
 */
import type { Logger } from 'pino';
import { AgentLoop } from './agent-loop';
import { HostApiClient } from './api-client';
import { DockerRuntime } from './docker-runtime';
import type { HostGpu } from './host-gpu';
import { discoverNvidiaGpus, NvidiaSmiSampler } from './host-gpu';
import type { HostLinkDeps } from './host-link';
import { describe, registerUntilAccepted } from './host-link';
import { loadOrCreateHostKey } from './key-file';
import { DEFAULT_LOG_SHIPPER_OPTIONS, LogShipper } from './log-shipper';
import type { HostAgentOptions } from './options';
import { UsageError } from './options';
import { ReceiptChains } from './receipt-chains';
import { simulatedGpus } from './simulated-gpu';

/** Physical GPUs when `nvidia-smi` lists some, else the simulated ones the command line declares. */
export async function resolveHostGpus(options: HostAgentOptions, logger: Logger): Promise<HostGpu[]> {
  const sampler = new NvidiaSmiSampler();
  const physical = await sampler.sample();
  if (physical.length > 0) {
    if (options.gpuPrice === undefined) {
      throw new UsageError(`option --gpu-price is required: nvidia-smi lists ${physical.length} GPU(s) on this machine`);
    }
    if (options.simulateGpus) logger.warn('physical GPUs found: --simulate-gpus is ignored');
    return discoverNvidiaGpus(options.hostId, options.gpuPrice, sampler);
  }
  if (!options.simulateGpus) {
    throw new UsageError('option --simulate-gpus is required: nvidia-smi lists no GPU on this machine');
  }
  return simulatedGpus(options.hostId, options.simulateGpus);
}

export async function runHostAgent(options: HostAgentOptions, logger: Logger, signal: AbortSignal): Promise<void> {
  const gpus = await resolveHostGpus(options, logger);
  const key = await loadOrCreateHostKey(options.keyFile);
  logger.info(
    { publicKey: key.publicKey, keyFile: options.keyFile, keyCreated: key.created, apiUrl: options.apiUrl,
      gpus: gpus.map(({ id, model, vramGb, source }) => ({ id, model, vramGb, source })) },
    'host agent starting',
  );

  const runtime = new DockerRuntime(options.hostId, options.dockerSocket, {
    network: options.containerNetwork,
    pidsLimit: options.pidsLimit,
    memoryBytes: options.memoryBytes,
  });
  await runtime.ping().catch((error: unknown) => {
    throw new Error(`Docker engine not reachable at ${options.dockerSocket}: ${describe(error)}`);
  });

  const link: HostLinkDeps = {
    client: new HostApiClient({
      apiUrl: options.apiUrl,
      hostId: options.hostId,
      secretKey: key.secretKey,
      providerKey: options.providerKey,
    }),
    registration: {
      hostId: options.hostId,
      publicKey: key.publicKey,
      gpuSource: gpus[0]?.source ?? 'simulated',
      gpus: gpus.map(({ id, model, vramGb, pricePerGpuHour }) => ({ id, model, vramGb, pricePerGpuHour })),
    },
    logger,
  };
  await registerUntilAccepted(link, signal);
  const loop = new AgentLoop({
    hostId: options.hostId,
    client: link.client,
    runtime,
    gpus,
    chains: new ReceiptChains(options.hostId, key.secretKey),
    reportIntervalMs: options.reportIntervalMs,
    logs: new LogShipper(runtime, { ...DEFAULT_LOG_SHIPPER_OPTIONS, startedAt: Date.now() }),
    logger,
    register: async (stop) => {
      await registerUntilAccepted(link, stop);
    },
  });
  logger.info({ apiUrl: options.apiUrl }, 'host agent running');
  await loop.run(signal);
  logger.info('host agent stopped');
}
