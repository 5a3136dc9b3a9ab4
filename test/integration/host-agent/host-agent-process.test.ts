/**
 * The agent as a provider runs it (`tsx workers/host-agent/main.ts`) against the real API on a fresh
 * PostgreSQL database and the real Docker engine: it registers with its key, brings Docker to the
 * desired state the lease workflow writes (assignments.repo, as the control activities do), never
 * touches a container that is not its own, reports receipts the API accepts, rides out an API outage
 * without losing a receipt, and continues its chains after a restart.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnTiedToParent } from '../../../scripts/launcher/tied-spawn';
import { decodeSecretKey, publicKeyOf } from '../../../domain/host-key';
import type { ProofReceiptBody } from '../../../domain/proof-receipt';
import { endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { DockerRuntime, LABELS } from '../../../workers/host-agent/docker-runtime';
import type { OpenOptions, TestAssignment } from '../../support/assignments';
import { openTestAssignment } from '../../support/assignments';
import { seedCustomer, seedLease } from '../../support/seed';
import { newProvider } from '../api/fixtures';
import type { ServedApi } from './support';
import { containersOf, docker, removeHostContainers, serveApi, TEST_IMAGE, uniqueHostId, waitFor } from './support';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '../../..');
// tsx's loader inside our own node process, not the `tsx` CLI: that CLI runs the agent in a child
// process, and a signal to the CLI would not be a signal to the agent.
const AGENT_ENTRY = ['--import', 'tsx', 'workers/host-agent/main.ts'];
const PROOF_INTERVAL_MS = 500;
const hostId = uniqueHostId('it-agent');
const otherHostId = uniqueHostId('it-other');
/** The engine as the test sees it: creates leftovers labelled for this host, as a previous life would have. */
const runtime = new DockerRuntime(hostId);

let api: ServedApi;
let dir: string;
let providerId: string;
let providerKey: string;
let leaseId: string;
const foreign: string[] = [];
const agents: ChildProcess[] = [];

interface Agent {
  process: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}
let agent: Agent;

beforeAll(async () => {
  [api, dir] = await Promise.all([serveApi(), mkdtemp(path.join(os.tmpdir(), 'host-agent-'))]);
  const provider = await newProvider(api.database.db, 2);
  [providerId, providerKey] = [provider.id, provider.apiKey];
  leaseId = await seedLease(api.database.db, await seedCustomer(api.database.db));

  // Not the agent's to touch: a provider's own container, and another host's lease container on the same engine.
  const plain = await docker.createContainer({ name: `it-plain-${randomUUID().slice(0, 8)}`, Image: TEST_IMAGE, Cmd: ['sleep', '300'] });
  await plain.start();
  const neighbour = await new DockerRuntime(otherHostId).createAndStart({
    leaseId: 'lease-neighbour', assignmentId: `nb-${randomUUID().slice(0, 8)}`, epoch: 0, gpuId: `${otherHostId}-gpu0`, image: TEST_IMAGE, command: ['sleep', '300'], env: {},
  });
  foreign.push(plain.id, neighbour.containerId);
  // What a previous life of this host left behind, which no assignment wants any more.
  await leftover('a-forgotten', 3);
});

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(foreign.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
  await removeHostContainers(hostId);
  await removeHostContainers(otherHostId);
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startAgent(): Agent {
  const child = spawnTiedToParent(
    process.execPath,
    [
      ...AGENT_ENTRY,
      '--host-id', hostId,
      '--api-url', api.url,
      '--key-file', path.join(dir, 'host.key.json'),
      '--simulate-gpus', 'H100:80:2.50x2',
      '--report-interval', '0.3',
      '--container-pids-limit', '128',
    ],
    { cwd: REPO, env: { ...process.env, PROVIDER_KEY: providerKey, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
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

/** Opens an assignment of the host's GPU `gpu`, as the lease workflow's openAssignments does. */
function open(gpu: number, opts: OpenOptions): Promise<TestAssignment> {
  return openTestAssignment(
    api.database.db,
    leaseId,
    { gpuId: `${hostId}-gpu${gpu}`, hostId, providerId, tier: 2, model: 'H100', pricePerGpuHour: '2500000' },
    { proofIntervalMs: PROOF_INTERVAL_MS, ...opts, container: { image: TEST_IMAGE, command: ['sleep', '300'], ...opts.container } },
  );
}

async function onEngine(): Promise<string[]> {
  return (await containersOf(hostId)).map((c) => `${c.Labels[LABELS.assignment]}@${c.Labels[LABELS.epoch]}:${c.State}`).sort();
}

const settled = (expected: string[]) => async () => {
  const now = await onEngine();
  return JSON.stringify(now) === JSON.stringify([...expected].sort()) ? now : undefined;
};

const assignmentRow = (assignmentId: string) =>
  api.database.db.selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();

/** Waits until the assignment's verified seconds pass `seconds`; returns its row. */
const verifiedPast = (assignmentId: string, seconds: number, timeoutMs = 20_000) =>
  waitFor(`verified seconds of ${assignmentId} past ${seconds}`, async () => {
    const row = await assignmentRow(assignmentId);
    return row.verified_seconds > seconds ? row : undefined;
  }, timeoutMs);

interface LogEntry {
  level: number;
  msg: string;
  assignmentId?: string;
  epoch?: number;
  reason?: string;
  rejected?: { assignmentId: string; seq: number; reason: string }[];
}
/** The agent's pino JSON lines on stdout. */
const logOf = (output: string[]): LogEntry[] =>
  output.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogEntry);

/** What the agent said it stopped, and why. */
const stops = (output: string[]): string[] =>
  logOf(output).filter((entry) => entry.msg === 'stopping container').map((entry) => `${entry.assignmentId}@${entry.epoch}:${entry.reason}`);

/**
 * No rejected receipt (the agent logs each answer with one), no host event, and every chain stored without a hole.
 * Receipts of an assignment a test ended, signed before the agent heard of the end and refused for it, are the API
 * doing its job: a loaded machine delays the agent's next long poll past a report or two.
 */
async function expectCleanRecord(): Promise<void> {
  const { db } = api.database;
  const ended = new Set((await db.selectFrom('assignments').select('id').where('host_id', '=', hostId).where('ended_at', 'is not', null).execute())
    .map((row) => row.id));
  const afterItsEnd = (r: { assignmentId: string; reason: string }) => ended.has(r.assignmentId) && /the assignment has ended/.test(r.reason);
  const rejected = logOf(agent.output).filter((entry) => /rejected/.test(entry.msg) && !(entry.rejected?.length && entry.rejected.every(afterItsEnd)));
  expect(rejected).toEqual([]);
  expect(await db.selectFrom('host_events').selectAll().where('host_id', '=', hostId).execute()).toEqual([]);
  const host = await db.selectFrom('hosts').select('unhealthy_until').where('id', '=', hostId).executeTakeFirstOrThrow();
  expect(host.unhealthy_until).toBeNull();
  const rows = await db.selectFrom('assignments').select(['id', 'rejected_streak', 'tip_seq']).where('host_id', '=', hostId).execute();
  for (const row of rows) {
    expect({ id: row.id, rejectedStreak: row.rejected_streak }).toEqual({ id: row.id, rejectedStreak: 0 });
    const seqs = (await db.selectFrom('proof_receipts').select('seq').where('assignment_id', '=', row.id).orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: (row.tip_seq ?? -1) + 1 }, (_, i) => i));
  }
}

let first: TestAssignment;
let second: TestAssignment;

describe('a host agent process', () => {
  it('registers with the key it creates', async () => {
    agent = startAgent();
    const host = await waitFor('registration', () =>
      api.database.db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirst());
    const keyFile = await readFile(path.join(dir, 'host.key.json'), 'utf8');
    expect(host).toMatchObject({ provider_id: providerId, tier: 2, status: 'online', public_key: publicKeyOf(decodeSecretKey(keyFile)) });
    const gpus = await api.database.db.selectFrom('gpus').select(['id', 'model', 'price_per_gpu_hour']).where('host_id', '=', hostId).orderBy('id').execute();
    expect(gpus).toEqual([
      { id: `${hostId}-gpu0`, model: 'H100', price_per_gpu_hour: '2500000' },
      { id: `${hostId}-gpu1`, model: 'H100', price_per_gpu_hour: '2500000' },
    ]);
  });

  it('stops its own leftover containers nobody wants, and never touches a container that is not its own', async () => {
    await waitFor('the leftover stopped', settled([]));
    expect(stops(agent.output)).toContain('a-forgotten@3:not_desired');
    for (const id of foreign) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
  });

  it('starts the container of an opened assignment, with its place in the cluster in LEASE_* and its labels', async () => {
    first = await open(0, {
      rank: 1,
      epoch: 1,
      container: { image: TEST_IMAGE, command: ['sleep', '300'], env: { CUSTOM: 'x', LEASE_RANK: '7' }, worldSize: 2, headHost: 'head.example' },
    });
    await waitFor('the container running', settled([`${first.assignmentId}@1:running`]));
    const [info] = await containersOf(hostId);
    const inspected = await docker.getContainer(info!.Id).inspect();
    expect(inspected.Config.Labels).toMatchObject({
      [LABELS.host]: hostId, [LABELS.lease]: leaseId, [LABELS.assignment]: first.assignmentId, [LABELS.epoch]: '1', [LABELS.gpu]: `${hostId}-gpu0`,
    });
    expect(inspected.Config.Env).toEqual(expect.arrayContaining([
      'CUSTOM=x',
      // The customer's env cannot fake its place in the cluster.
      'LEASE_RANK=1',
      `LEASE_ID=${leaseId}`,
      'LEASE_WORLD_SIZE=2',
      'LEASE_HEAD_HOST=head.example',
      'LEASE_EPOCH=1',
      `LEASE_ASSIGNMENT_ID=${first.assignmentId}`,
      `LEASE_GPU_ID=${hostId}-gpu0`,
    ]));
    expect(inspected.HostConfig).toMatchObject({ NetworkMode: 'none', PidsLimit: 128, Privileged: false });
    // The dispatch waits on this: the host said the container runs.
    await waitFor('reported running', async () => ((await assignmentRow(first.assignmentId)).running_at ? true : undefined));
  });

  it('reports receipts the API accepts: verified seconds grow, nothing rejected', async () => {
    const row = await verifiedPast(first.assignmentId, 2);
    expect(Number(row.payable_ms)).toBeLessThanOrEqual(row.last_receipt_at!.getTime() - row.first_receipt_at!.getTime());
    expect(row.tip_state).toBe('running');
    await expectCleanRecord();
  });

  it('stops a container of a superseded epoch and keeps the desired one', async () => {
    second = await open(1, { epoch: 2 });
    await waitFor('the second container running', settled([`${first.assignmentId}@1:running`, `${second.assignmentId}@2:running`]));
    const desiredId = (await containersOf(hostId)).find((c) => c.Labels[LABELS.epoch] === '2')!.Id;
    // An older epoch of the same assignment appears (left by an earlier life of the agent).
    await leftover(second.assignmentId, 1);
    await waitFor('the superseded epoch stopped', settled([`${first.assignmentId}@1:running`, `${second.assignmentId}@2:running`]));
    expect(stops(agent.output)).toContain(`${second.assignmentId}@1:superseded_epoch`);
    expect((await docker.getContainer(desiredId).inspect()).State.Running).toBe(true);
  });

  it('stops the container of an assignment that ended', async () => {
    await endAssignment(api.database.db, { assignmentId: first.assignmentId, endReason: 'lease_completed' });
    await waitFor('the ended assignment stopped', settled([`${second.assignmentId}@2:running`]));
    expect(stops(agent.output)).toContain(`${first.assignmentId}@1:stopped`);
    for (const id of foreign) expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
  });

  it('keeps working through an API outage: receipts signed meanwhile are sent when it is back and accepted', async () => {
    const before = await verifiedPast(second.assignmentId, 1);
    await api.stop();
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const outageEnd = Date.now();
    await api.start();

    const after = await verifiedPast(second.assignmentId, before.verified_seconds + 3);
    expect(after.tip_seq!).toBeGreaterThan(before.tip_seq!);
    // Receipts dated inside the outage reached the API afterwards, and were accepted.
    const signedDuring = await api.database.db.selectFrom('proof_receipts').select(['seq', 'body', 'received_at'])
      .where('assignment_id', '=', second.assignmentId).orderBy('seq').execute();
    const during = signedDuring.filter((r) => {
      const at = (r.body as ProofReceiptBody).at;
      return at > outageStart + PROOF_INTERVAL_MS && at < outageEnd - PROOF_INTERVAL_MS;
    });
    expect(during.length).toBeGreaterThanOrEqual(2);
    for (const r of during) expect(r.received_at.getTime()).toBeGreaterThanOrEqual(outageEnd - 100);
    await expectCleanRecord();
    // The container ran on through it.
    expect(await onEngine()).toEqual([`${second.assignmentId}@2:running`]);
  });

  it('stops gracefully on SIGTERM leaving its containers running, and a new life continues the chains', async () => {
    const containerId = (await containersOf(hostId))[0]!.Id;
    agent.process.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(true);
    const before = await assignmentRow(second.assignmentId);

    agent = startAgent();
    // The chain goes on from the tip the desired state gives: accepted, not restarted from seq 0.
    const after = await verifiedPast(second.assignmentId, before.verified_seconds + 1);
    expect(after.tip_seq!).toBeGreaterThan(before.tip_seq!);
    await expectCleanRecord();
    // The very same container, untouched by the restart.
    expect((await containersOf(hostId)).map((c) => c.Id)).toEqual([containerId]);
    expect(stops(agent.output)).toEqual([]);
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
});
