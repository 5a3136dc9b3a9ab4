/** The in-flight bound on host reports: slots are counted exactly, and a client that goes away gives its slot back. */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { problemHandler } from '../../../api/errors';
import { ReportAdmission } from '../../../api/report-admission';
import pino from 'pino';

test('slots up to the bound, then none; a slot given back twice frees one', () => {
  const admission = new ReportAdmission(2);
  const first = admission.tryEnter();
  const second = admission.tryEnter();
  expect([first, second].every((release) => typeof release === 'function')).toBe(true);
  expect(admission.tryEnter()).toBeUndefined();
  expect({ inFlight: admission.inFlight, shed: admission.shed }).toEqual({ inFlight: 2, shed: 1 });
  first!();
  first!();
  expect(admission.inFlight).toBe(1);
  expect(admission.tryEnter()).toBeDefined();
  expect(admission.tryEnter()).toBeUndefined();
  expect({ inFlight: admission.inFlight, shed: admission.shed }).toEqual({ inFlight: 2, shed: 2 });
});

test.each([0, -1, 1.5, Number.NaN])('a bound of %p is refused', (limit) => {
  expect(() => new ReportAdmission(limit)).toThrow(/positive integer/);
});

describe('as middleware', () => {
  const admission = new ReportAdmission(1);
  let release: (() => void) | undefined;
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    const app = express();
    // The handler answers only when the test says so, holding its slot until then.
    app.post('/report', admission.middleware(pino({ level: 'silent' })), (_req, res) => {
      release = () => res.json({ ok: true });
    });
    app.use(problemHandler(pino({ level: 'silent' })));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await sleep(10);
    expect(check()).toBe(true);
  };

  test('a request past the bound is a 503 problem with Retry-After; the slot frees when the answer is sent', async () => {
    const held = fetch(url, { method: 'POST' });
    await until(() => admission.inFlight === 1);
    const refused = await fetch(url, { method: 'POST' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/working on 1 host reports already/) });
    release!();
    expect((await held).status).toBe(200);
    await until(() => admission.inFlight === 0);
  });

  test('a client that goes away before its answer gives its slot back', async () => {
    const gone = new AbortController();
    const abandoned = fetch(url, { method: 'POST', signal: gone.signal }).catch(() => 'aborted');
    await until(() => admission.inFlight === 1);
    gone.abort();
    expect(await abandoned).toBe('aborted');
    await until(() => admission.inFlight === 0);
    // And the next report is taken.
    const next = fetch(url, { method: 'POST' });
    await until(() => admission.inFlight === 1);
    release!();
    expect((await next).status).toBe(200);
  });
});
