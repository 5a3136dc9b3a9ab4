/**
 * The host activities (activities/contracts.ts `HostActivities`), run by the agent's worker on its own
 * task queue `host-<hostId>`. Each is idempotent on (assignmentId, epoch): Temporal may run an
 * attempt again after the agent crashed half-way, and the container's labels tell what already happened.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  HostActivities,
  StartContainerInput,
  StartContainerResult,
  StopContainerInput,
} from '../../activities/contracts';
import type { DockerRuntime } from './docker-runtime';
import { statusCode } from './docker-runtime';
import type { HostGpu } from './host-gpu';
import { superviseAssignment } from './supervise';

export interface HostActivityDeps {
  hostId: string;
  runtime: DockerRuntime;
  gpus: HostGpu[];
  /** 32-byte ed25519 seed of the host key: signs every receipt. */
  secretKey: Uint8Array;
  /** Used when a supervise input carries no proof interval of its own. */
  defaultProofIntervalMs: number;
  /** How often supervision heartbeats and looks at the container; 1 s unless a test wants otherwise. */
  tickMs?: number;
}

export function createHostActivities(deps: HostActivityDeps): HostActivities {
  const gpuOf = (gpuId: string): HostGpu => {
    const gpu = deps.gpus.find((candidate) => candidate.id === gpuId);
    if (!gpu) {
      throw ApplicationFailure.create({
        message: `GPU ${gpuId} is not on host ${deps.hostId} (it has ${deps.gpus.map((g) => g.id).join(', ')})`,
        type: 'UnknownGpu',
        nonRetryable: true,
      });
    }
    return gpu;
  };

  return {
    startContainer: (input) => startContainer(deps, gpuOf(input.gpuId), input),
    superviseAssignment: (input) => superviseAssignment({ ...deps, gpu: gpuOf(input.gpuId) }, input),
    stopContainer: (input) => stopContainer(deps, input),
  };
}

async function startContainer(
  deps: HostActivityDeps,
  gpu: HostGpu,
  input: StartContainerInput,
): Promise<StartContainerResult> {
  const { runtime } = deps;
  const existing = await runtime.findContainer(input.assignmentId, input.epoch);
  if (existing?.state === 'running') return { containerId: existing.containerId, startedAt: existing.startedAt };
  // A leftover of a failed attempt (created, or exited before we reported it) holds the name: start afresh.
  if (existing) await runtime.stopAndRemove(existing.containerId);

  if (!(await runtime.imageExists(input.image))) {
    // No registry is assumed reachable from a provider's machine: retrying cannot make the image appear.
    throw ApplicationFailure.create({
      message: `image ${input.image} is not present on host ${deps.hostId}`,
      type: 'ImageNotFound',
      nonRetryable: true,
      details: [{ image: input.image, hostId: deps.hostId }],
    });
  }

  const env = {
    ...input.env,
    // Set last: a customer's env must not be able to fake its place in the cluster.
    LEASE_ID: input.leaseId,
    LEASE_RANK: String(input.rendezvous.rank),
    LEASE_WORLD_SIZE: String(input.rendezvous.worldSize),
    LEASE_HEAD_HOST: input.rendezvous.headHost,
    LEASE_EPOCH: String(input.epoch),
    LEASE_ASSIGNMENT_ID: input.assignmentId,
    LEASE_GPU_ID: input.gpuId,
  };
  try {
    const started = await runtime.createAndStart({
      leaseId: input.leaseId,
      assignmentId: input.assignmentId,
      epoch: input.epoch,
      gpuId: input.gpuId,
      image: input.image,
      command: input.command,
      env,
      gpuUuid: gpu.uuid,
    });
    return { containerId: started.containerId, startedAt: started.startedAt || Date.now() };
  } catch (error) {
    const code = statusCode(error);
    if (code === 409) {
      // A concurrent attempt created it first: that one is ours too.
      const raced = await runtime.findContainer(input.assignmentId, input.epoch);
      if (raced?.state === 'running') return { containerId: raced.containerId, startedAt: raced.startedAt };
    }
    if (code !== undefined && code >= 400 && code < 500 && code !== 409) {
      // The engine refused the spec itself (e.g. the command does not exist in the image).
      throw ApplicationFailure.create({
        message: `container for assignment ${input.assignmentId} epoch ${input.epoch} did not start: ${messageOf(error)}`,
        type: 'ContainerStartFailed',
        nonRetryable: true,
      });
    }
    throw error;
  }
}

async function stopContainer(deps: HostActivityDeps, input: StopContainerInput): Promise<void> {
  const containers = await deps.runtime.listLeaseContainers();
  const matching = containers.filter((c) => c.assignmentId === input.assignmentId && c.epoch === input.epoch);
  for (const container of matching) await deps.runtime.stopAndRemove(container.containerId);
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}
