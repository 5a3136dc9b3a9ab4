/**
 * A real lease's event stream from create to cancelled, on a real engine: what `lease create --watch`
 * follows. One GPU; the stream is opened before the lease reaches running and read until it ends.
 */
import { SseParser } from '../../../api/cli/sse';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startEngine({ hosts: [{ hostId: 'ev-t1-a', provider: 'ev-atlas', tier: 1, gpus: 'H100:80:3.20x1' }] });
});
afterAll(async () => engine?.stop());

test('the SSE stream shows every status, the rank placed and running, a settlement, and ends', async () => {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'H100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '3.50', durationSeconds: 600, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;

  const events: { id?: string; event: string; data: string }[] = [];
  const reading = (async () => {
    const res = await fetch(`${engine.apiUrl}/v1/leases/${leaseId}/events`, {
      headers: { authorization: `Bearer ${engine.customers[0]!.apiKey}`, accept: 'text/event-stream' },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) events.push(...parser.push(decoder.decode(chunk, { stream: true })));
  })();

  // A settlement period (5 s) or more of running, then cancel.
  await waitFor(async () => events.some((e) => e.event === 'settlement'), 60_000, 'a settlement event');
  expect((await engine.request('POST', `/v1/leases/${leaseId}/cancel`)).status).toBeLessThan(300);
  await reading;

  const parsed = events.filter((e) => e.event !== 'end').map((e) => JSON.parse(e.data) as { id: string; kind: string; data: Record<string, unknown> });
  expect(events[events.length - 1]).toEqual({ event: 'end', data: JSON.stringify({ status: 'cancelled' }) });
  expect(parsed.filter((e) => e.kind === 'status').map((e) => e.data.status)).toEqual(['reserving', 'dispatching', 'running', 'closing', 'cancelled']);
  expect(parsed.filter((e) => e.kind === 'placed')).toEqual([expect.objectContaining({ data: expect.objectContaining({ rank: 0, hostId: 'ev-t1-a', tier: 1 }) })]);
  expect(parsed.filter((e) => e.kind === 'running')).toEqual([expect.objectContaining({ data: expect.objectContaining({ rank: 0 }) })]);
  expect(parsed.filter((e) => e.kind === 'escrow')).toHaveLength(1);
  expect(parsed.filter((e) => e.kind === 'settlement').length).toBeGreaterThanOrEqual(2);
  expect(parsed.filter((e) => e.kind === 'settlement').at(-1)!.data.kind).toBe('close');
  expect(parsed.filter((e) => e.kind === 'ended').map((e) => e.data.reason)).toEqual(['lease_cancelled']);
  // Ids only move forward, and the stream's events are the stored ones.
  const stored = await engine.request('GET', `/v1/leases/${leaseId}/events`);
  expect(stored.body.map((e: { id: string }) => e.id)).toEqual(parsed.map((e) => e.id));
}, 150_000);
