/**
 * One host agent: its key, its GPUs, its standing with the API, and a Temporal worker on its own
 * task queue `host-<hostId>` that runs the host activities. Runs until `signal` aborts; the lease
 * containers it started keep running when it stops (the next agent on this host takes them over).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { hostTaskQueue } from '../../activities/contracts';
import { createHostActivities } from './activities';
import { HostApiClient } from './api-client';
import { DockerRuntime } from './docker-runtime';
import type { HostGpu } from './host-gpu';
import { discoverNvidiaGpus, NvidiaSmiSampler } from './host-gpu';
import type { HostLinkDeps } from './host-link';
import { describe, heartbeatUntilStopped, registerUntilAccepted } from './host-link';
import { loadOrCreateHostKey } from './key-file';
import type { HostAgentOptions } from './options';
import { UsageError } from './options';
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
    { publicKey: key.publicKey, keyFile: options.keyFile, keyCreated: key.created,
      gpus: gpus.map(({ id, model, vramGb, source }) => ({ id, model, vramGb, source })) },
    'host agent starting',
  );

  const runtime = new DockerRuntime(options.hostId, options.containerNetwork, options.dockerSocket);
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
    runtime,
    registration: {
      hostId: options.hostId,
      publicKey: key.publicKey,
      gpuSource: gpus[0]?.source ?? 'simulated',
      gpus: gpus.map(({ id, model, vramGb, pricePerGpuHour }) => ({ id, model, vramGb, pricePerGpuHour })),
    },
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    reconcileGraceMs: options.reconcileGraceMs,
    logger,
  };
  // Stops the heartbeats when the worker ends for any reason, not only on a signal.
  const running = new AbortController();
  const stopRunning = () => running.abort(signal.reason);
  signal.addEventListener('abort', stopRunning, { once: true });
  if (signal.aborted) stopRunning();
  await registerUntilAccepted(link, running.signal);
  const heartbeats = heartbeatUntilStopped(link, running.signal);
  try {
    const connection = await connectTemporal(options, logger, running.signal);
    try {
      const worker = await Worker.create({
        connection,
        namespace: options.namespace,
        taskQueue: hostTaskQueue(options.hostId),
        identity: `host-agent/${options.hostId}`,
        activities: createHostActivities({
          hostId: options.hostId,
          runtime,
          gpus,
          secretKey: key.secretKey,
          defaultProofIntervalMs: options.proofIntervalMs,
        }),
        // Supervision heartbeats carry the receipts proven so far: let them reach the server at once.
        maxHeartbeatThrottleInterval: '1s',
        defaultHeartbeatThrottleInterval: '1s',
        // Supervisions last a settlement period; on shutdown they hand over their receipts instead.
        shutdownGraceTime: '2s',
      });
      const polling = worker.run();
      const shutdown = () => worker.shutdown();
      if (running.signal.aborted) shutdown();
      else running.signal.addEventListener('abort', shutdown, { once: true });
      logger.info({ taskQueue: hostTaskQueue(options.hostId), namespace: options.namespace }, 'host agent polling');
      await polling;
    } finally {
      await connection.close();
    }
  } finally {
    stopRunning();
    signal.removeEventListener('abort', stopRunning);
    await heartbeats;
    logger.info('host agent stopped');
  }
}

async function connectTemporal(options: HostAgentOptions, logger: Logger, signal: AbortSignal): Promise<NativeConnection> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await NativeConnection.connect({ address: options.temporalAddress });
    } catch (error) {
      if (signal.aborted) throw error;
      const delayMs = Math.min(10_000, 250 * 2 ** Math.min(attempt - 1, 6));
      logger.warn({ err: describe(error), address: options.temporalAddress, retryInMs: delayMs }, 'Temporal not reachable; retrying');
      await sleep(delayMs, undefined, { signal });
    }
  }
}
