/** The command line as a script sees it: exit codes, --json, and what is sent to the API (fetch stubbed). */
import { runCli } from '../../../api/cli';
import type { CliIo } from '../../../api/cli/context';
import { SseParser } from '../../../api/cli/sse';

const LEASE = '7d0b7a1e-3f5c-4a44-9d5e-0d4f5c1a2b3c';

function io(env: NodeJS.ProcessEnv = { LEASE_ENGINE_API_URL: 'http://api.test', LEASE_ENGINE_API_KEY: 'k1' }) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, home: '/nonexistent-home' };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

let calls: { url: string; method: string; headers: Record<string, string>; body?: unknown }[];

function answer(status: number, body: unknown) {
  calls = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    calls.push({ url: String(url), method: init?.method ?? 'GET', headers: init?.headers as Record<string, string>,
      ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}) });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' } });
  });
}

afterEach(() => jest.restoreAllMocks());

test('usage errors exit 2; help exits 0', async () => {
  const t = io();
  expect(await runCli(['lease', 'extend', LEASE], t.io)).toBe(2);
  expect(t.err()).toMatch(/required option '--seconds <n>' not specified/);
  expect(await runCli(['estimate', '--gpu-model', 'H100', '--max-price', 'cheap', '--duration', '600'], io().io)).toBe(2);
  expect(await runCli(['lease', 'get', 'not-a-uuid'], io().io)).toBe(2);
  expect(await runCli(['--help'], io().io)).toBe(0);
});

test('no API key: exit 2 and what to do', async () => {
  const t = io({ LEASE_ENGINE_API_URL: 'http://api.test' });
  expect(await runCli(['lease', 'ls'], t.io)).toBe(2);
  expect(t.err()).toContain('no API key: pass --api-key or set LEASE_ENGINE_API_KEY');
});

test('--api-key beats the environment, and the request is what the API expects', async () => {
  answer(200, { id: LEASE, status: 'running' });
  const t = io();
  expect(await runCli(['--api-key', 'flag-key', 'lease', 'extend', LEASE, '--seconds', '60', '--json'], t.io)).toBe(0);
  expect(calls).toEqual([{ url: `http://api.test/v1/leases/${LEASE}/extend`, method: 'POST',
    headers: { authorization: 'Bearer flag-key', 'content-type': 'application/json' }, body: { seconds: 60 } }]);
  expect(JSON.parse(t.out())).toEqual({ id: LEASE, status: 'running' });
});

test('lease create sends the request with its command after --', async () => {
  answer(201, { id: LEASE, status: 'reserving' });
  const t = io();
  const code = await runCli(['lease', 'create', '--gpu-model', 'H100', '--gpus', '2', '--min-tier', '1', '--max-price', '3.50',
    '--duration', '600', '--image', 'busybox', '--env', 'A=1', '--env', 'B=x=y', '--idempotency-key', 'k-1', '--json', '--', 'sh', '-c', 'sleep 1'], t.io);
  expect(code).toBe(0);
  expect(calls[0]).toMatchObject({ url: 'http://api.test/v1/leases', method: 'POST', headers: { 'idempotency-key': 'k-1' },
    body: { gpuModel: 'H100', gpuCount: 2, minTier: 1, maxPricePerGpuHour: '3.50', durationSeconds: 600, image: 'busybox',
      command: ['sh', '-c', 'sleep 1'], env: { A: '1', B: 'x=y' } } });
});

test.each([
  [404, 3, /no lease/],
  [409, 4, /finished/],
  [402, 4, /raise your allowance/],
  [400, 2, /seconds/],
  [503, 1, /retry in a moment/],
])('an API answer %i exits %i with the problem’s words', async (status, exitCode, words) => {
  answer(status, { type: 'x', title: 't', status, detail: status === 404 ? `no lease ${LEASE}` : status === 409 ? 'lease is finished' : status === 400 ? 'seconds: too big' : 'nope' });
  const t = io();
  expect(await runCli(['lease', 'cancel', LEASE], t.io)).toBe(exitCode);
  expect(t.err()).toMatch(words);
  expect(t.out()).toBe('');
});

test('with --json an error is JSON on stderr, stdout stays clean', async () => {
  answer(404, { type: 'x', title: 'not found', status: 404, detail: `no lease ${LEASE}` });
  const t = io();
  expect(await runCli(['lease', 'get', LEASE, '--json'], t.io)).toBe(3);
  expect(JSON.parse(t.err())).toMatchObject({ error: `no lease ${LEASE}`, exitCode: 3, problem: { status: 404 } });
  expect(t.out()).toBe('');
});

test('server-sent events are parsed however the bytes are cut', () => {
  const text = ': hello\n\nid: 1.0.0\nevent: status\ndata: {"a":1}\n\n: keep-alive\n\nevent: end\ndata: {}\n\n';
  for (const size of [1, 3, 7, text.length]) {
    const parser = new SseParser();
    const events = [];
    for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
    expect(events).toEqual([{ id: '1.0.0', event: 'status', data: '{"a":1}' }, { event: 'end', data: '{}' }]);
  }
});
