/**
 * The agent as a provider runs it (`tsx workers/host-agent/main.ts`), killed and started again:
 * same key, registers again, stops containers of superseded epochs and ended assignments, leaves live
 * ones running, and serves activities on `host-<hostId>` through a real Temporal dev server.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { hostTaskQueue } from '../../../activities/contracts';
import { decodeSecretKey, publicKeyOf } from '../../../domain/host-key';
import { DockerRuntime, LABELS } from '../../../workers/host-agent/docker-runtime';
import type { StandInApi } from './stand-in-api';
import { startStandInApi } from './stand-in-api';
import { containersOf, docker, removeHostContainers, startTemporalDevServer, TEST_IMAGE, uniqueHostId, waitFor } from './support';
import { startContainerWorkflow } from './workflows';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '../../..');
// tsx's loader inside our own node process, not the `tsx` CLI: that CLI runs the agent in a child
// process, and a SIGKILL of the CLI would leave the agent running (no real kill to test).
const AGENT_ENTRY = ['--import', 'tsx', 'workers/host-agent/main.ts'];
const hostId = uniqueHostId('it-agent');
const workflowQueue = `it-agent-workflows-${randomUUID()}`;
const runtime = new DockerRuntime(hostId, 'none');

let env: TestWorkflowEnvironment;
let api: StandInApi;
let worker: Worker;
let workerRunning: Promise<void>;
let dir: string;
const agents: ChildProcess[] = [];

beforeAll(async () => {
  const [started, workflowBundle, standIn, tmp] = await Promise.all([
    startTemporalDevServer(),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: undefined }),
    startStandInApi('pk_test_provider'),
    mkdtemp(path.join(os.tmpdir(), 'host-agent-')),
  ]);
  [env, api, dir] = [started, standIn, tmp];
  // Workflows only: the activities run in the agent process, on its own queue.
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: workflowQueue, workflowBundle });
  workerRunning = worker.run();
});

afterAll(async () => {
  for (const agent of agents) if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
  worker?.shutdown();
  await workerRunning;
  await env?.teardown();
  await api?.close();
  await removeHostContainers(hostId);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startAgent(): { process: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      ...AGENT_ENTRY,
      '--host-id', hostId,
      '--api-url', api.url,
      '--temporal-address', env.address,
      '--key-file', path.join(dir, 'host.key.json'),
      '--simulate-gpus', 'H100:80:2.50x2',
      '--heartbeat-interval', '0.3',
      '--reconcile-grace', '1',
    ],
    { cwd: REPO, env: { ...process.env, PROVIDER_KEY: api.providerKey }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agents.push(child);
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output, exited };
}

async function leftover(assignmentId: string, epoch: number): Promise<string> {
  const status = await runtime.createAndStart({
    leaseId: 'lease-left-over', assignmentId, epoch, gpuId: `${hostId}-gpu0`, image: TEST_IMAGE, command: ['sleep', '300'], env: {},
  });
  return status.containerId;
}

async function assignmentsOnEngine(): Promise<string[]> {
  const containers = await containersOf(hostId);
  return containers.map((c) => `${c.Labels[LABELS.assignment]}@${c.Labels[LABELS.epoch]}:${c.State}`).sort();
}

const settled = (expected: string[]) => async () => {
  const now = await assignmentsOnEngine();
  return JSON.stringify(now) === JSON.stringify([...expected].sort()) ? now : undefined;
};

it('registers with its key, reconciles, runs activities, and comes back the same after a kill', async () => {
  // What a previous life of this host left behind.
  const liveId = await leftover('a-live', 1);
  await leftover('a-failed-over', 1);
  await leftover('a-ended', 1);
  api.live = [{ assignmentId: 'a-live', epoch: 1 }, { assignmentId: 'a-failed-over', epoch: 2 }];

  const first = startAgent();
  const registration = await waitFor('registration', async () => api.registrations[0]);
  const keyFile = await readFile(path.join(dir, 'host.key.json'), 'utf8');
  expect(registration).toEqual({
    hostId,
    publicKey: publicKeyOf(decodeSecretKey(keyFile)),
    gpuSource: 'simulated',
    gpus: [
      { id: `${hostId}-gpu0`, model: 'H100', vramGb: 80, pricePerGpuHour: '2.50' },
      { id: `${hostId}-gpu1`, model: 'H100', vramGb: 80, pricePerGpuHour: '2.50' },
    ],
  });
  await waitFor('superseded and ended containers stopped', settled(['a-live@1:running']));
  expect(api.heartbeats.some((beat) => beat.containers.some((c) => c.assignmentId === 'a-live' && c.state === 'running'))).toBe(true);

  // The agent's worker polls host-<hostId>: a workflow elsewhere starts a container through it.
  api.live = [...api.live, { assignmentId: 'a-dispatched', epoch: 1 }];
  const started = await env.client.workflow.execute(startContainerWorkflow, {
    taskQueue: workflowQueue,
    workflowId: `dispatch-${randomUUID()}`,
    args: [hostTaskQueue(hostId), {
      leaseId: 'lease-2', assignmentId: 'a-dispatched', epoch: 1, gpuId: `${hostId}-gpu1`, image: TEST_IMAGE,
      command: ['sleep', '300'], rendezvous: { rank: 0, worldSize: 1, headHost: '127.0.0.1' },
    }],
  });
  expect((await docker.getContainer(started.containerId).inspect()).State.Running).toBe(true);

  // Killed outright; meanwhile the lease of a-dispatched fails over to another host (epoch 2).
  first.process.kill('SIGKILL');
  await first.exited;
  api.live = [{ assignmentId: 'a-live', epoch: 1 }, { assignmentId: 'a-dispatched', epoch: 2 }];
  const registrationsBefore = api.registrations.length;

  const second = startAgent();
  const again = await waitFor('registration after restart', async () => api.registrations[registrationsBefore]);
  expect(again.publicKey).toBe(registration.publicKey);
  expect(await readFile(path.join(dir, 'host.key.json'), 'utf8')).toBe(keyFile);
  await waitFor('stale epoch stopped after restart', settled(['a-live@1:running']));
  // The live container is the very same one, untouched by either restart.
  expect((await docker.getContainer(liveId).inspect()).State.Running).toBe(true);

  // A graceful stop leaves the lease containers running for the next agent.
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect((await docker.getContainer(liveId).inspect()).State.Running).toBe(true);
  expect(api.refusals).toEqual([]);

  // Logs are pino JSON lines on stdout; each life says what it stopped and why.
  const stops = (output: string[]) =>
    output.join('').split('\n').filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; assignmentId?: string; epoch?: number; reason?: string })
      .filter((entry) => entry.msg === 'stopping container that is no longer live')
      .map((entry) => `${entry.assignmentId}@${entry.epoch}:${entry.reason}`);
  expect(stops(first.output).sort()).toEqual(['a-ended@1:not_live', 'a-failed-over@1:superseded_epoch']);
  expect(stops(second.output)).toEqual(['a-dispatched@1:superseded_epoch']);
});

it('exits 2 naming the option when the command line is wrong', async () => {
  const child = spawn(process.execPath, [...AGENT_ENTRY, '--host-id', hostId,
    '--provider-key', 'k', '--simulate-gpus', 'H100:eighty:2'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toContain('--simulate-gpus');
});
