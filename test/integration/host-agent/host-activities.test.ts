/**
 * The host activities on a real Temporal dev server and the real Docker engine: what the lease
 * workflow will see through the host's task queue.
 */
import { randomUUID } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import { hexToBytes } from '@noble/hashes/utils';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import bs58 from 'bs58';
import type { StartContainerInput, SuperviseInput } from '../../../activities/contracts';
import { hostTaskQueue } from '../../../activities/contracts';
import { generateHostKey } from '../../../domain/host-key';
import type { ProofReceipt } from '../../../domain/proof-receipt';
import { GENESIS_HASH, hashReceiptBody, solveChallenge, verifyReceiptBatch } from '../../../domain/proof-receipt';
import { createHostActivities } from '../../../workers/host-agent/activities';
import { DockerRuntime, LABELS } from '../../../workers/host-agent/docker-runtime';
import { parseSimulatedGpuSpec, simulatedGpus } from '../../../workers/host-agent/simulated-gpu';
import { containersOf, docker, removeHostContainers, startTemporalDevServer, TEST_IMAGE, uniqueHostId } from './support';
import {
  cancelledSuperviseWorkflow,
  startContainerWorkflow,
  stopContainerWorkflow,
  superviseWorkflow,
} from './workflows';

// testTimeout in a jest project's config is ignored (it is a global option): set it here.
jest.setTimeout(60_000);

const hostId = uniqueHostId('it-host');
const taskQueue = hostTaskQueue(hostId);
const key = generateHostKey();
const gpus = simulatedGpus(hostId, parseSimulatedGpuSpec('H100:80:2.50x2'));

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  const [started, workflowBundle] = await Promise.all([
    startTemporalDevServer(),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: undefined }),
  ]);
  env = started;
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: createHostActivities({
      hostId,
      runtime: new DockerRuntime(hostId, 'none'),
      gpus,
      secretKey: key.secretKey,
      defaultProofIntervalMs: 5_000,
    }),
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await removeHostContainers(hostId);
});

function run<A extends unknown[], R>(workflow: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.client.workflow.execute(workflow, { taskQueue, workflowId: `${workflow.name}-${randomUUID()}`, args });
}

function startInput(over: Partial<StartContainerInput> = {}): StartContainerInput {
  return {
    leaseId: `lease-${randomUUID()}`,
    assignmentId: randomUUID(),
    epoch: 1,
    gpuId: `${hostId}-gpu1`,
    image: TEST_IMAGE,
    command: ['sleep', '300'],
    env: { CUSTOMER_VAR: 'hello', LEASE_RANK: 'spoofed' },
    rendezvous: { rank: 1, worldSize: 4, headHost: '10.0.0.7' },
    ...over,
  };
}

function superviseInput(start: StartContainerInput, over: Partial<SuperviseInput> = {}): SuperviseInput {
  return {
    leaseId: start.leaseId,
    assignmentId: start.assignmentId,
    epoch: start.epoch,
    gpuId: start.gpuId,
    period: 1,
    until: Date.now() + 3_000,
    challengeSeed: `seed-${randomUUID()}`,
    proofIntervalMs: 1_000,
    chainTip: null,
    ...over,
  };
}

function expectSignedChain(receipts: ProofReceipt[], input: SuperviseInput): void {
  let prevHash = input.chainTip?.hash ?? GENESIS_HASH;
  let seq = input.chainTip ? input.chainTip.seq + 1 : 0;
  let at = 0;
  for (const receipt of receipts) {
    expect(receipt.body).toMatchObject({ seq, prevHash, assignmentId: input.assignmentId, epoch: input.epoch, hostId });
    expect(receipt.body.at).toBeGreaterThan(at);
    expect(receipt.hash).toBe(hashReceiptBody(receipt.body));
    expect(receipt.body.challenge).toEqual({ seed: input.challengeSeed, answer: solveChallenge(input.challengeSeed, seq) });
    expect(receipt.body.telemetry.source).toBe('simulated');
    expect(ed25519.verify(hexToBytes(receipt.signature), hexToBytes(receipt.hash), bs58.decode(key.publicKey))).toBe(true);
    prevHash = receipt.hash;
    seq += 1;
    at = receipt.body.at;
  }
}

describe('host activities through Temporal', () => {
  it('starts a labelled container with the rendezvous env, idempotently', async () => {
    const input = startInput();
    const first = await run(startContainerWorkflow, taskQueue, input);
    const again = await run(startContainerWorkflow, taskQueue, input);
    expect(again.containerId).toBe(first.containerId);
    expect(first.startedAt).toBeGreaterThan(Date.now() - 60_000);

    const info = await docker.getContainer(first.containerId).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Name).toBe(`/le-${input.assignmentId}-e1`);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Config.Labels).toMatchObject({
      [LABELS.host]: hostId,
      [LABELS.lease]: input.leaseId,
      [LABELS.assignment]: input.assignmentId,
      [LABELS.epoch]: '1',
      [LABELS.gpu]: `${hostId}-gpu1`,
    });
    expect(info.Config.Env).toEqual(expect.arrayContaining([
      'CUSTOMER_VAR=hello',
      `LEASE_ID=${input.leaseId}`,
      'LEASE_RANK=1',
      'LEASE_WORLD_SIZE=4',
      'LEASE_HEAD_HOST=10.0.0.7',
      'LEASE_EPOCH=1',
      `LEASE_ASSIGNMENT_ID=${input.assignmentId}`,
      `LEASE_GPU_ID=${hostId}-gpu1`,
    ]));
    expect((await containersOf(hostId)).filter((c) => c.Labels[LABELS.assignment] === input.assignmentId)).toHaveLength(1);

    await run(stopContainerWorkflow, taskQueue, { leaseId: input.leaseId, assignmentId: input.assignmentId, epoch: 1 });
  });

  it('supervises: chained, signed receipts every interval and a final one at `until`', async () => {
    const start = startInput();
    await run(startContainerWorkflow, taskQueue, start);
    const input = superviseInput(start, { chainTip: { seq: 6, hash: 'ab'.repeat(32) }, period: 3 });
    const result = await run(superviseWorkflow, taskQueue, input);

    expect(result.containerState).toBe('running');
    expect(result.receipts.length).toBeGreaterThanOrEqual(4);
    expect(result.receipts.length).toBeLessThanOrEqual(5);
    expectSignedChain(result.receipts, input);
    const last = result.receipts[result.receipts.length - 1];
    expect(last?.body.at).toBeGreaterThanOrEqual(input.until);
    expect(result.receipts.every((r) => r.body.containerState === 'running' && r.body.period === 3)).toBe(true);

    // What the control worker will do with them: the domain verifier accepts the whole batch.
    const verified = verifyReceiptBatch(result.receipts, {
      publicKey: key.publicKey, leaseId: start.leaseId, assignmentId: start.assignmentId, epoch: 1, hostId,
      gpuId: start.gpuId, tip: { seq: 6, hash: 'ab'.repeat(32), at: input.until - 4_000, containerState: 'running' },
      challengeSeed: input.challengeSeed, period: 3, proofIntervalMs: 1_000, now: Date.now(), maxClockSkewMs: 1_000,
      sample: () => true,
    });
    expect(verified.rejected).toEqual([]);
    expect(verified.payableMs).toBeGreaterThan(2_500);

    await run(stopContainerWorkflow, taskQueue, { leaseId: start.leaseId, assignmentId: start.assignmentId, epoch: 1 });
  });

  it('stops and removes the container; stopping again is fine', async () => {
    const start = startInput();
    const { containerId } = await run(startContainerWorkflow, taskQueue, start);
    const stop = { leaseId: start.leaseId, assignmentId: start.assignmentId, epoch: 1 };
    await run(stopContainerWorkflow, taskQueue, stop);
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await run(stopContainerWorkflow, taskQueue, stop);
  });

  it('hands over the receipts proven so far when supervision is cancelled', async () => {
    const start = startInput();
    await run(startContainerWorkflow, taskQueue, start);
    const input = superviseInput(start, { until: Date.now() + 60_000 });
    const outcome = await run(cancelledSuperviseWorkflow, taskQueue, input, 2_500);

    expect(outcome.cancelled).toBe(true);
    const receipts = outcome.proven?.receipts ?? [];
    expect(receipts.length).toBeGreaterThanOrEqual(3);
    expectSignedChain(receipts, input);
    // The container keeps running: cancelling supervision is not stopping the lease.
    expect((await containersOf(hostId)).find((c) => c.Labels[LABELS.assignment] === start.assignmentId)?.State).toBe('running');

    await run(stopContainerWorkflow, taskQueue, { leaseId: start.leaseId, assignmentId: start.assignmentId, epoch: 1 });
  });

  it('returns early with the exit code when the container exits', async () => {
    const start = startInput({ command: ['sh', '-c', 'sleep 1.5; exit 3'] });
    await run(startContainerWorkflow, taskQueue, start);
    const input = superviseInput(start, { until: Date.now() + 30_000 });
    const began = Date.now();
    const result = await run(superviseWorkflow, taskQueue, input);

    expect(Date.now() - began).toBeLessThan(10_000);
    expect(result).toMatchObject({ containerState: 'exited', exitCode: 3 });
    expectSignedChain(result.receipts, input);
    expect(result.receipts[result.receipts.length - 1]?.body.containerState).toBe('exited');
    expect(result.receipts.slice(0, -1).every((r) => r.body.containerState === 'running')).toBe(true);

    await run(stopContainerWorkflow, taskQueue, { leaseId: start.leaseId, assignmentId: start.assignmentId, epoch: 1 });
  });

  it('reports a missing container in one signed receipt', async () => {
    const start = startInput({ assignmentId: randomUUID() });
    const input = superviseInput(start);
    const result = await run(superviseWorkflow, taskQueue, input);
    expect(result.containerState).toBe('missing');
    expect(result.receipts).toHaveLength(1);
    expectSignedChain(result.receipts, input);
  });

  it('fails without retry when the image is not on this host, naming it', async () => {
    const image = 'lease-engine/not-here:latest';
    const failure = await run(startContainerWorkflow, taskQueue, startInput({ image })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (failure as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = (activityFailure as ActivityFailure).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'ImageNotFound', nonRetryable: true });
    expect((cause as ApplicationFailure).message).toContain(image);
  });
});
