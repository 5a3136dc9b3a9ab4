/**
 * How a host agent authenticates to the API (DESIGN §8): every request carries the host id, a unix-ms
 * timestamp and an ed25519 signature by the host key over method, path, timestamp and body hash.
 * The timestamp bounds replays to MAX_REQUEST_AGE_MS; the body hash binds the signature to the payload.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { nobleEd25519, type SignatureScheme } from './host-key';

export const HOST_SIGNATURE_HEADERS = {
  hostId: 'x-host-id',
  timestamp: 'x-host-timestamp',
  signature: 'x-host-signature',
} as const;

export const MAX_REQUEST_AGE_MS = 60_000;

export interface SignedRequestInput {
  method: string;
  /** Path with its query string, exactly as sent (the server's `req.originalUrl`). */
  path: string;
  /** Unix ms; the server passes the header text as it came, so both sides sign the same characters. */
  timestamp: number | string;
  /** Raw request body; empty for a request without one. */
  body: string | Uint8Array;
}

export function requestDigest({ method, path, timestamp, body }: SignedRequestInput): Uint8Array {
  const bodyBytes = typeof body === 'string' ? utf8ToBytes(body) : body;
  return sha256(utf8ToBytes(`${method.toUpperCase()}\n${path}\n${timestamp}\n${bytesToHex(sha256(bodyBytes))}`));
}

export function signRequest(input: SignedRequestInput, secretKey: Uint8Array, scheme: SignatureScheme = nobleEd25519): string {
  return scheme.sign(requestDigest(input), secretKey);
}

export function verifyRequestSignature(
  input: SignedRequestInput,
  signatureHex: string,
  publicKeyBase58: string,
  scheme: SignatureScheme = nobleEd25519,
): boolean {
  return scheme.verify(requestDigest(input), signatureHex, publicKeyBase58);
}

/** True when `ts` (unix ms, number or header text of digits) is within MAX_REQUEST_AGE_MS of `now`, either way. */
export function isFreshTimestamp(ts: number | string, now: number): boolean {
  if (typeof ts === 'string' && !/^\d{1,16}$/.test(ts)) return false;
  const value = Number(ts);
  return Number.isSafeInteger(value) && Math.abs(now - value) <= MAX_REQUEST_AGE_MS;
}
