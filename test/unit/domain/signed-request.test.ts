import {
  HOST_SIGNATURE_HEADERS,
  MAX_REQUEST_AGE_MS,
  isFreshTimestamp,
  requestDigest,
  signRequest,
  verifyRequestSignature,
} from '../../../domain/signed-request';
import type { SignedRequestInput } from '../../../domain/signed-request';
import { createHash } from 'node:crypto';
import { HOST_PUBLIC, HOST_SECRET, OTHER_SECRET } from './receipt-fixtures';

const REQUEST: SignedRequestInput = {
  method: 'post',
  path: '/v1/hosts/host-1/heartbeat?x=1',
  timestamp: 1_700_000_000_000,
  body: '{"gpus":8}',
};

const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

describe('requestDigest', () => {
  it('hashes METHOD, path, timestamp and the body hash, one per line', () => {
    const bodyHash = sha256(REQUEST.body as string).toString('hex');
    const expected = sha256(`POST\n/v1/hosts/host-1/heartbeat?x=1\n1700000000000\n${bodyHash}`);
    expect(Buffer.from(requestDigest(REQUEST))).toEqual(expected);
  });

  it('treats a string body and its UTF-8 bytes alike, and the timestamp header text like the number', () => {
    const bytes = { ...REQUEST, body: new TextEncoder().encode(REQUEST.body as string) };
    expect(requestDigest(bytes)).toEqual(requestDigest(REQUEST));
    expect(requestDigest({ ...REQUEST, timestamp: '1700000000000' })).toEqual(requestDigest(REQUEST));
  });
});

describe('signRequest / verifyRequestSignature', () => {
  const signature = signRequest(REQUEST, HOST_SECRET);

  it('verifies a request signed by the host key', () => {
    expect(signature).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyRequestSignature(REQUEST, signature, HOST_PUBLIC)).toBe(true);
  });

  it.each([
    ['method', { method: 'PUT' }],
    ['path', { path: '/v1/hosts/host-2/heartbeat?x=1' }],
    ['timestamp', { timestamp: REQUEST.timestamp as number + 1 }],
    ['body', { body: '{"gpus":9}' }],
  ])('rejects a request whose %s changed after signing', (_name, change) => {
    expect(verifyRequestSignature({ ...REQUEST, ...change }, signature, HOST_PUBLIC)).toBe(false);
  });

  it('rejects a signature by another key and a malformed signature', () => {
    expect(verifyRequestSignature(REQUEST, signRequest(REQUEST, OTHER_SECRET), HOST_PUBLIC)).toBe(false);
    expect(verifyRequestSignature(REQUEST, 'xyz', HOST_PUBLIC)).toBe(false);
  });
});

describe('isFreshTimestamp', () => {
  const now = 1_700_000_000_000;
  it('accepts timestamps within the allowed age either way, and refuses older or later ones', () => {
    expect(isFreshTimestamp(now, now)).toBe(true);
    expect(isFreshTimestamp(now - MAX_REQUEST_AGE_MS, now)).toBe(true);
    expect(isFreshTimestamp(now + MAX_REQUEST_AGE_MS, now)).toBe(true);
    expect(isFreshTimestamp(now - MAX_REQUEST_AGE_MS - 1, now)).toBe(false);
    expect(isFreshTimestamp(now + MAX_REQUEST_AGE_MS + 1, now)).toBe(false);
  });

  it('reads header text of digits only', () => {
    expect(isFreshTimestamp(String(now), now)).toBe(true);
    for (const bad of ['', ' 1700000000000', '1.7e12', '-1', 'abc', '0x1']) expect(isFreshTimestamp(bad, now)).toBe(false);
    expect(isFreshTimestamp(Number.NaN, now)).toBe(false);
  });

  it('names the headers the host agent sends', () => {
    expect(HOST_SIGNATURE_HEADERS).toEqual({ hostId: 'x-host-id', timestamp: 'x-host-timestamp', signature: 'x-host-signature' });
  });
});
