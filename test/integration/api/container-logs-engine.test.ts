/**
 * Container logs end to end on a real engine: a real host-agent process runs a real busybox container
 * that writes to stdout and stderr; the lines come back from GET /v1/leases/:id/logs in the order written,
 * with their rank and epoch, and through the `lease-engine` bin. A hostile host (its own registered key)
 * that ships oversized lines, too many lines or lines for the honest host's assignment is refused with a
 * problem naming the field; nothing of it is stored and the lease goes on.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { MAX_LOG_LINE_BYTES } from '../../../domain/container-logs';
import { createProvider } from '../../../infra/db/repositories/providers.repo';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, startEngine, waitFor } from '../../support/engine';
import { HostileHost } from '../../support/hostile-host';

const BIN = path.resolve(__dirname, '../../../bin/lease-engine.js');
// Lines on both streams, apart in time so that their order is the order written; then it keeps running.
const SCRIPT = 'for i in 1 2 3; do echo "out $i"; sleep 0.2; echo "err $i" >&2; sleep 0.2; done; while true; do sleep 1; done';
const EXPECTED = [['stdout', 'out 1'], ['stderr', 'err 1'], ['stdout', 'out 2'], ['stderr', 'err 2'], ['stdout', 'out 3'], ['stderr', 'err 3']];

let engine: TestEngine;
let hostile: HostileHost | undefined;
let leaseId: string;

interface LogLine { seq: number; rank: number; epoch: number; stream: string; at: string; text: string }
const logs = async (query = '') => (await engine.request('GET', `/v1/leases/${leaseId}/logs${query}`)).body as { lines: LogLine[]; next: number };

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', NO_COLOR: '1', LEASE_ENGINE_API_URL: engine.apiUrl, LEASE_ENGINE_API_KEY: engine.customers[0]!.apiKey },
      timeout: 90_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr }));
  });
}

beforeAll(async () => {
  engine = await startEngine({ hosts: [{ hostId: 'logs-t1', provider: 'logs-co', tier: 1, gpus: 'A100:80:2.00x1' }] });
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '3', durationSeconds: 600, image: DEMO_IMAGE, command: ['sh', '-c', SCRIPT],
  });
  expect(created.status).toBe(201);
  leaseId = created.body.id as string;
}, 300_000);
afterAll(async () => {
  await hostile?.stop();
  await engine?.stop();
});

test('what the container writes comes back in order, with its rank and epoch', async () => {
  const { lines } = await waitFor(async () => {
    const page = await logs();
    return page.lines.length >= EXPECTED.length && page;
  }, 60_000, 'six log lines');
  const view = (await engine.request('GET', `/v1/leases/${leaseId}`)).body as { assignments: { rank: number; epoch: number }[] };
  const epoch = view.assignments[0]!.epoch;
  expect(lines.map((l) => [l.stream, l.text])).toEqual(EXPECTED);
  expect(lines.every((l) => l.rank === 0 && l.epoch === epoch)).toBe(true);
  expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  const times = lines.map((l) => Date.parse(l.at));
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  expect((await logs('?since=3')).lines.map((l) => l.text)).toEqual(['err 2', 'out 3', 'err 3']);
}, 90_000);

test('a hostile host is refused whole, naming the field; nothing of it is stored and the lease goes on', async () => {
  const evil = await createProvider(engine.database.db, 'logs-evil', 1);
  hostile = await HostileHost.register(engine.apiUrl, 'logs-evil-1', evil.apiKey, [{ id: 'logs-evil-gpu0', model: 'A100', pricePerGpuHour: '9' }]);
  const victim = (await engine.request('GET', `/v1/leases/${leaseId}`)).body.assignments[0] as { assignmentId: string; epoch: number };
  const line = (text: string) => ({ stream: 'stdout', at: Date.now(), text });
  const cases: [unknown, number, string][] = [
    [[{ assignmentId: victim.assignmentId, epoch: victim.epoch, lines: [line('forged by another host')] }], 422, 'logs[0].assignmentId'],
    [[{ assignmentId: victim.assignmentId, epoch: victim.epoch, lines: [line('y'.repeat(MAX_LOG_LINE_BYTES + 1))] }], 400, 'logs[0].lines[0].text'],
    [[{ assignmentId: victim.assignmentId, epoch: victim.epoch, lines: Array.from({ length: 1001 }, () => line('flood')) }], 400, 'logs[0].lines'],
  ];
  for (const [batches, status, field] of cases) {
    const answer = await hostile.report({ containers: [], receipts: [], logs: batches });
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ type: expect.stringMatching(/^urn:lease-engine:problem:/), errors: expect.arrayContaining([expect.objectContaining({ field })]) });
  }
  const rows = await engine.database.db.selectFrom('container_logs').select('text').where('lease_id', '=', leaseId).orderBy('seq').execute();
  expect(rows.map((r) => r.text)).toEqual(EXPECTED.map(([, text]) => text));
  const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body as { status: string; failoverCount: number; assignments: { endedAt: string | null }[] };
  expect(lease).toMatchObject({ status: 'running', failoverCount: 0 });
  expect(lease.assignments.every((a) => a.endedAt === null)).toBe(true);
}, 60_000);

test('`lease-engine lease logs` prints them (stderr lines on stderr), as JSON, and follows until the lease ends', async () => {
  const human = await cli(['lease', 'logs', leaseId]);
  expect(human.code).toBe(0);
  const epoch = await epochOf();
  expect(human.out).toBe(EXPECTED.filter(([s]) => s === 'stdout').map(([, t]) => `[r0 e${epoch}] ${t}\n`).join(''));
  // Only the log lines: the process may print its own warnings on stderr too.
  expect(human.err.split('\n').filter((l) => l.startsWith('[r')).map((l) => `${l}\n`).join('')).toBe(EXPECTED.filter(([s]) => s === 'stderr').map(([, t]) => `[r0 e${epoch}] ${t}\n`).join(''));

  const json = await cli(['lease', 'logs', leaseId, '--json', '--since', '2', '--rank', '0']);
  expect(json.code).toBe(0);
  const page = JSON.parse(json.out) as { lines: LogLine[]; next: number };
  expect(page.lines.map((l) => l.seq)).toEqual([3, 4, 5, 6]);
  expect(page.next).toBe(6);

  const following = cli(['lease', 'logs', leaseId, '-f', '--json']);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect((await engine.request('POST', `/v1/leases/${leaseId}/cancel`)).status).toBeLessThan(300);
  const followed = await following;
  expect(followed.code).toBe(0);
  const events = followed.out.trim().split('\n').map((l) => JSON.parse(l) as LogLine & { kind?: string; status?: string });
  expect(events.slice(0, 6).map((e) => e.text)).toEqual(EXPECTED.map(([, t]) => t));
  expect(events.at(-1)).toMatchObject({ kind: 'end', status: 'cancelled' });

  const missing = await cli(['lease', 'logs', '00000000-0000-4000-8000-000000000000']);
  expect(missing.code).toBe(3);
}, 120_000);

async function epochOf(): Promise<number> {
  return ((await engine.request('GET', `/v1/leases/${leaseId}`)).body as { assignments: { epoch: number }[] }).assignments[0]!.epoch;
}
