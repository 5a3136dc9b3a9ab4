/** A host told to come back later (Retry-After) does so no sooner than usual, nor than asked, and spread out. */
import { delayAfterReportError, HostApiError, MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../workers/host-agent/api-client';

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

test('after a refusal with Retry-After: the usual interval or the Retry-After, the longer, plus up to one Retry-After', () => {
  const shed = new HostApiError(503, 'busy', '/v1/hosts/h/reports', 1_000);
  expect(delayAfterReportError(shed, 3_000, () => 0)).toBe(3_000);
  expect(delayAfterReportError(shed, 3_000, () => 0.5)).toBe(3_500);
  expect(delayAfterReportError(shed, 500, () => 0)).toBe(1_000);
  expect(delayAfterReportError(shed, 500, () => 0.99)).toBe(1_990);
});

test('a Retry-After past MAX_RETRY_AFTER_MS is taken as that: a host is never told into silence', () => {
  const hour = new HostApiError(503, 'maintenance', '/v1/hosts/h/reports', 3_600_000);
  expect(delayAfterReportError(hour, 3_000, () => 0)).toBe(MAX_RETRY_AFTER_MS);
  expect(delayAfterReportError(hour, 3_000, () => 0.5)).toBe(MAX_RETRY_AFTER_MS * 1.5);
});

test('any other failure waits the usual interval', () => {
  expect(delayAfterReportError(new HostApiError(503, 'database down', '/p'), 3_000, () => 0)).toBe(3_000);
  expect(delayAfterReportError(new HostApiError(400, 'bad', '/p'), 3_000, () => 0)).toBe(3_000);
  expect(delayAfterReportError(new Error('connection refused'), 3_000, () => 0)).toBe(3_000);
});
