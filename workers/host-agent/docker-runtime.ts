/**
 * The host's Docker engine as the agent needs it: lease containers found by their labels (never by
 * memory of what this process started, so a restarted agent sees the same world), created hardened
 * and with no network of their own unless the provider allows it, stopped gracefully.
 */
import Docker from 'dockerode';
import { MAX_LOG_LINE_BYTES } from '../../domain/container-logs';
import type { ContainerState } from '../../domain/proof-receipt';
import type { DecodedLine } from './docker-log-frames';
import { DockerLogDecoder, dockerSince } from './docker-log-frames';
import type { LeaseContainer } from './reconcile';

export const LABELS = {
  host: 'lease-engine.host',
  lease: 'lease-engine.lease',
  assignment: 'lease-engine.assignment',
  epoch: 'lease-engine.epoch',
  gpu: 'lease-engine.gpu',
} as const;

export type ContainerNetwork = 'none' | 'host';

export interface ContainerPolicy {
  /** 'none' unless the provider allows 'host' (then the lease's container shares the host network). */
  network: ContainerNetwork;
  /** Max processes in a lease container (docker --pids-limit). */
  pidsLimit: number;
  /** Memory limit in bytes (docker --memory); 0 = no limit. */
  memoryBytes: number;
}

export const DEFAULT_CONTAINER_POLICY: ContainerPolicy = { network: 'none', pidsLimit: 4096, memoryBytes: 0 };

/**
 * The HostConfig of a lease container. The customer's code is untrusted and runs on the provider's
 * machine: it must not gain privileges (no capabilities, no setuid escalation, never privileged) nor
 * take the machine down (a fork bomb stops at the pids limit, memory at its limit with no swap beyond).
 * The root filesystem stays writable: it is the container's own layer, and workloads write to it.
 */
export function hostConfigFor(policy: ContainerPolicy, gpuUuid?: string): Docker.HostConfig {
  return {
    NetworkMode: policy.network,
    // An init as PID 1 forwards SIGTERM to the customer's process, so a stop is graceful rather
    // than a SIGKILL after the timeout (a bare PID 1 ignores signals it has no handler for).
    Init: true,
    Privileged: false,
    SecurityOpt: ['no-new-privileges:true'],
    CapDrop: ['ALL'],
    PidsLimit: policy.pidsLimit,
    ...(policy.memoryBytes > 0 ? { Memory: policy.memoryBytes, MemorySwap: policy.memoryBytes } : {}),
    ReadonlyRootfs: false,
    DeviceRequests: gpuUuid ? [{ Driver: 'nvidia', DeviceIDs: [gpuUuid], Capabilities: [['gpu']] }] : undefined,
  };
}

export interface ContainerSpec {
  leaseId: string;
  assignmentId: string;
  epoch: number;
  gpuId: string;
  image: string;
  command?: string[];
  env: Record<string, string>;
  /** Driver uuid of the physical GPU to pass through; undefined for a simulated GPU. */
  gpuUuid?: string;
}

export interface ContainerStatus {
  containerId: string;
  state: ContainerState;
  exitCode?: number;
  /** Unix ms; 0 when it never started. */
  startedAt: number;
}

export const containerName = (assignmentId: string, epoch: number): string => `le-${assignmentId}-e${epoch}`;

const STOP_TIMEOUT_SECONDS = 5;
/** A log read that takes longer is cut: the next tick goes on from where it stopped. */
const LOG_READ_TIMEOUT_MS = 2_000;

export class DockerRuntime {
  readonly docker: Docker;

  constructor(
    /** Several agents may share one engine (the demo fleet): each sees only containers of its host. */
    private readonly hostId: string,
    socketPath = '/var/run/docker.sock',
    private readonly policy: ContainerPolicy = DEFAULT_CONTAINER_POLICY,
  ) {
    this.docker = new Docker({ socketPath });
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
  }

  /** The container of that assignment and epoch, if there is one (in any state). */
  async findContainer(assignmentId: string, epoch: number): Promise<ContainerStatus | undefined> {
    const [found] = await this.docker.listContainers({
      all: true,
      filters: { label: [this.hostLabel(), `${LABELS.assignment}=${assignmentId}`, `${LABELS.epoch}=${epoch}`] },
    });
    return found ? this.inspect(found.Id) : undefined;
  }

  async listLeaseContainers(): Promise<LeaseContainer[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [this.hostLabel()] } });
    return found.flatMap((info) => {
      const labels = info.Labels;
      const epoch = Number(labels[LABELS.epoch]);
      const assignmentId = labels[LABELS.assignment];
      if (assignmentId === undefined || !Number.isInteger(epoch)) return [];
      return [{
        containerId: info.Id,
        leaseId: labels[LABELS.lease] ?? '',
        assignmentId,
        epoch,
        gpuId: labels[LABELS.gpu] ?? '',
        state: info.State === 'running' ? 'running' : 'exited',
        createdAt: info.Created * 1000,
      }];
    });
  }

  async createAndStart(spec: ContainerSpec): Promise<ContainerStatus> {
    const container = await this.docker.createContainer({
      name: containerName(spec.assignmentId, spec.epoch),
      Image: spec.image,
      Cmd: spec.command,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      Labels: {
        [LABELS.host]: this.hostId,
        [LABELS.lease]: spec.leaseId,
        [LABELS.assignment]: spec.assignmentId,
        [LABELS.epoch]: String(spec.epoch),
        [LABELS.gpu]: spec.gpuId,
      },
      HostConfig: hostConfigFor(this.policy, spec.gpuUuid),
    });
    try {
      await container.start();
    } catch (error) {
      // A container that never ran would block the name of the next attempt.
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
    return this.inspect(container.id);
  }

  async inspect(containerId: string): Promise<ContainerStatus> {
    try {
      const info = await this.docker.getContainer(containerId).inspect();
      const running = info.State.Running;
      const startedAt = Date.parse(info.State.StartedAt);
      return {
        containerId,
        state: running ? 'running' : 'exited',
        exitCode: running ? undefined : info.State.ExitCode,
        startedAt: Number.isFinite(startedAt) && startedAt > 0 ? startedAt : 0,
      };
    } catch (error) {
      if (statusCode(error) === 404) return { containerId, state: 'missing', startedAt: 0 };
      throw error;
    }
  }

  /** Stops (SIGTERM, then SIGKILL after 5 s) and removes; a container already gone is fine. */
  async stopAndRemove(containerId: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    try {
      await container.stop({ t: STOP_TIMEOUT_SECONDS });
    } catch (error) {
      // 304: already stopped; 404: already gone.
      if (statusCode(error) === 404) return;
      if (statusCode(error) !== 304) throw error;
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      // 409: removal already in progress (a concurrent stop).
      if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
    }
  }

  /**
   * The container's log lines from `sinceNs` (inclusive) to its log's end as it is now, stdout and stderr
   * in the order written, stopping after about `maxBytes`: the rest is read next time from the cursor.
   */
  async readLogs(containerId: string, sinceNs: bigint, maxBytes: number, onLine: (line: DecodedLine) => void): Promise<void> {
    const stop = new AbortController();
    const timeout = setTimeout(() => stop.abort(), LOG_READ_TIMEOUT_MS);
    try {
      // Through the modem: dockerode's logs() buffers a whole non-following answer in memory.
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
        this.docker.modem.dial(
          {
            path: `/containers/${containerId}/logs?`,
            method: 'GET',
            isStream: true,
            abortSignal: stop.signal,
            statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            options: { stdout: true, stderr: true, timestamps: true, follow: false, since: dockerSince(sinceNs) },
          },
          (err: unknown, data: unknown) => (err ? reject(err as Error) : resolve(data as NodeJS.ReadableStream)),
        );
      });
      const decoder = new DockerLogDecoder(MAX_LOG_LINE_BYTES + 64);
      let read = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const line of decoder.push(chunk)) onLine(line);
        read += chunk.length;
        if (read >= maxBytes) break;
      }
    } catch (error) {
      // Gone (removed while read) or cut by the timeout: what was read stands, the cursor says where it stopped.
      if (statusCode(error) !== 404 && !stop.signal.aborted) throw error;
    } finally {
      clearTimeout(timeout);
      stop.abort();
    }
  }

  private hostLabel(): string {
    return `${LABELS.host}=${this.hostId}`;
  }
}

export function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}
