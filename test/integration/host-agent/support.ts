/**
 * Shared by the host-agent integration tests: the Temporal dev server (the CLI scripts/setup.sh
 * installs), the busybox image TOOLCHAIN.md describes, and cleanup of the containers a test host made.
 */
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import Docker from 'dockerode';
import { LABELS } from '../../../workers/host-agent/docker-runtime';

export const TEST_IMAGE = process.env.DEMO_IMAGE ?? 'lease-engine/busybox:local';

export function startTemporalDevServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI ?? path.join(os.homedir(), 'go', 'bin', 'temporal') },
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });

/** A host id no other test (or a demo agent on the same engine) uses. */
export function uniqueHostId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

export async function removeHostContainers(hostId: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

export async function containersOf(hostId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
