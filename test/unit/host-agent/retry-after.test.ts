/** A host told to come back later (Retry-After) does so soon, spread out, and never later than its usual report. */
import { delayAfterReportError, HostApiError, retryAfterMs } from '../../../workers/host-agent/api-client';

test.each([
  ['1', 1_000],
  [' 2 ', 2_000],
  ['0', 0],
  [undefined, undefined],
  ['Wed, 21 Oct 2015 07:28:00 GMT', undefined],
  ['-1', undefined],
  ['1.5', undefined],
  ['9999999', undefined],
])('Retry-After %p is %p ms', (header, ms) => {
  expect(retryAfterMs(header)).toBe(ms);
});

test('after a refusal with Retry-After: between it and twice it, capped at the usual interval', () => {
  const shed = new HostApiError(503, 'busy', '/v1/hosts/h/reports', 1_000);
  expect(delayAfterReportError(shed, 5_000, () => 0)).toBe(1_000);
  expect(delayAfterReportError(shed, 5_000, () => 0.5)).toBe(1_500);
  expect(delayAfterReportError(shed, 1_200, () => 0.9)).toBe(1_200);
});

test('any other failure waits the usual interval', () => {
  expect(delayAfterReportError(new HostApiError(503, 'database down', '/p'), 3_000, () => 0)).toBe(3_000);
  expect(delayAfterReportError(new HostApiError(400, 'bad', '/p'), 3_000, () => 0)).toBe(3_000);
  expect(delayAfterReportError(new Error('connection refused'), 3_000, () => 0)).toBe(3_000);
});
