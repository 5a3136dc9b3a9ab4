/** `lease-engine lease logs` as a script sees it (fetch stubbed): paging, streams, --json, -f, exit codes. */
import { runCli } from '../../../api/cli';
import type { CliIo } from '../../../api/cli/context';

const LEASE = '7d0b7a1e-3f5c-4a44-9d5e-0d4f5c1a2b3c';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { LEASE_ENGINE_API_URL: 'http://api.test', LEASE_ENGINE_API_KEY: 'k1' }, home: '/nonexistent-home' };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

const line = (seq: number, text: string, stream: 'stdout' | 'stderr' = 'stdout', rank = 0, epoch = 1) =>
  ({ seq, rank, epoch, stream, at: '2026-12-01T10:00:00.000Z', text });

let urls: { url: string; headers: Record<string, string> }[];

function serve(answers: Response[]) {
  urls = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    urls.push({ url: String(url), headers: init?.headers as Record<string, string> });
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${String(url)}`);
    return next;
  });
}
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' } });
const sse = (text: string) => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });

afterEach(() => jest.restoreAllMocks());

test('pages through every line; stdout lines to stdout, stderr lines to stderr, each with rank and epoch', async () => {
  serve([
    json(200, { lines: [line(4, 'hello'), line(5, 'oops', 'stderr')], next: 5 }),
    json(200, { lines: [line(9, 'rank one', 'stdout', 1, 0)], next: 9 }),
    json(200, { lines: [], next: 9 }),
  ]);
  const t = io();
  expect(await runCli(['lease', 'logs', LEASE, '--since', '3', '--rank', '0'], t.io)).toBe(0);
  expect(urls.map((u) => u.url)).toEqual([
    `http://api.test/v1/leases/${LEASE}/logs?since=3&rank=0`,
    `http://api.test/v1/leases/${LEASE}/logs?since=5&rank=0`,
    `http://api.test/v1/leases/${LEASE}/logs?since=9&rank=0`,
  ]);
  expect(t.out()).toBe('[r0 e1] hello\n[r1 e0] rank one\n');
  expect(t.err()).toBe('[r0 e1] oops\n');
});

test('--json prints one document with every line and the cursor', async () => {
  serve([json(200, { lines: [line(1, 'a')], next: 1 }), json(200, { lines: [], next: 1 })]);
  const t = io();
  expect(await runCli(['lease', 'logs', LEASE, '--json'], t.io)).toBe(0);
  expect(JSON.parse(t.out())).toEqual({ lines: [line(1, 'a')], next: 1 });
});

test('-f follows the event stream from --since (as Last-Event-ID) until its end', async () => {
  serve([sse(`: keep-alive\n\nid: 8\nevent: log\ndata: ${JSON.stringify(line(8, 'live'))}\n\nevent: end\ndata: {"status":"cancelled","next":8}\n\n`)]);
  const t = io();
  expect(await runCli(['lease', 'logs', LEASE, '-f', '--since', '7', '--rank', '2'], t.io)).toBe(0);
  expect(urls).toEqual([{ url: `http://api.test/v1/leases/${LEASE}/logs?follow=true&rank=2`, headers: expect.objectContaining({ accept: 'text/event-stream', 'last-event-id': '7' }) }]);
  expect(t.out()).toBe('[r0 e1] live\n');

  serve([sse(`id: 8\nevent: log\ndata: ${JSON.stringify(line(8, 'live'))}\n\nevent: end\ndata: {"status":"cancelled","next":8}\n\n`)]);
  const j = io();
  expect(await runCli(['lease', 'logs', LEASE, '--follow', '--json'], j.io)).toBe(0);
  expect(j.out().trim().split('\n').map((l) => JSON.parse(l))).toEqual([line(8, 'live'), { kind: 'end', status: 'cancelled', next: 8 }]);
});

test('exit codes: bad arguments 2, not found 3', async () => {
  expect(await runCli(['lease', 'logs', 'not-a-uuid'], io().io)).toBe(2);
  expect(await runCli(['lease', 'logs', LEASE, '--rank', 'x'], io().io)).toBe(2);
  serve([json(404, { type: 'urn:lease-engine:problem:not-found', status: 404, title: 'not found', detail: `no lease ${LEASE}` })]);
  const t = io();
  expect(await runCli(['lease', 'logs', LEASE], t.io)).toBe(3);
  expect(t.err()).toContain(`no lease ${LEASE}`);
});
