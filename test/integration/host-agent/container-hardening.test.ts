/**
 * A lease container as the real Docker engine runs it: the hardening hostConfigFor asks for is what
 * the engine records, and what a process inside actually gets (no capabilities, no new privileges).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { ContainerStatus } from '../../../workers/host-agent/docker-runtime';
import { DockerRuntime } from '../../../workers/host-agent/docker-runtime';
import { docker, removeHostContainers, TEST_IMAGE, uniqueHostId } from './support';

// testTimeout in a jest project's config is ignored (it is a global option): set it here.
jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const hostId = uniqueHostId('hardening-test-host');
const runtime = new DockerRuntime(hostId, undefined, { network: 'none', pidsLimit: 64, memoryBytes: 64 * MiB });

let started: ContainerStatus;

beforeAll(async () => {
  started = await runtime.createAndStart({
    leaseId: `lease-${randomUUID()}`,
    assignmentId: randomUUID(),
    epoch: 1,
    gpuId: `${hostId}-gpu1`,
    image: TEST_IMAGE,
    command: ['sh', '-c', 'while true; do sleep 1; done'],
    env: {},
  });
});

afterAll(async () => {
  if (started) await runtime.stopAndRemove(started.containerId);
  await removeHostContainers(hostId);
});

/** Runs a command in the lease container and returns its stdout (stderr fails the test). */
async function execIn(containerId: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  const stderrText = Buffer.concat(err).toString();
  if (ExitCode !== 0 || stderrText !== '') {
    throw new Error(`${cmd.join(' ')} exited ${ExitCode}: ${stderrText}`);
  }
  return Buffer.concat(out).toString();
}

it('starts the lease container', () => {
  expect(started.state).toBe('running');
});

it('records the hardening in the container config', async () => {
  const { HostConfig } = await docker.getContainer(started.containerId).inspect();
  expect(HostConfig.SecurityOpt).toContain('no-new-privileges:true');
  expect(HostConfig.CapDrop).toEqual(['ALL']);
  expect(HostConfig.PidsLimit).toBe(64);
  expect(HostConfig.Memory).toBe(64 * MiB);
  expect(HostConfig.MemorySwap).toBe(64 * MiB);
  expect(HostConfig.NetworkMode).toBe('none');
  expect(HostConfig.Privileged).toBe(false);
});

it('gives a process inside no effective capabilities and no way to gain privileges', async () => {
  const status = await execIn(started.containerId, ['cat', '/proc/self/status']);
  expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
  expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
});
