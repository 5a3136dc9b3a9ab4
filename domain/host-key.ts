/**
 * Host identity keys (DESIGN §3, §8): Solana-style ed25519 keypairs. The 32-byte seed is the secret;
 * the public key is a base58 Solana address registered with the host's provider. Key files use the
 * `solana-keygen` format (a JSON array of 64 bytes: seed then public key), so a real Solana keypair works.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes, isBytes } from '@noble/hashes/utils';
import bs58 from 'bs58';

export const SECRET_KEY_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;

/**
 * How signatures are made and checked. `nobleEd25519` (pure JavaScript, importable anywhere) is the
 * reference; the API and the host processes pass the native one of `infra/crypto`, which gives the same
 * answers for every sound key (see `isSoundPublicKey`) in a tenth of the time.
 */
export interface SignatureScheme {
  /** Hex ed25519 signature over `message` by the 32-byte seed. */
  sign(message: Uint8Array, secretKey: Uint8Array): string;
  /** False, never a throw, for anything that is not a valid signature by that key. */
  verify(message: Uint8Array, signatureHex: string, publicKeyBase58: string): boolean;
}

export class InvalidHostKeyError extends Error {
  override name = 'InvalidHostKeyError';
}

export interface HostKey {
  /** 32-byte ed25519 seed. */
  secretKey: Uint8Array;
  /** base58 public key (a Solana address). */
  publicKey: string;
}

export function generateHostKey(): HostKey {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

export function publicKeyOf(secretKey: Uint8Array): string {
  assertSecretKey(secretKey);
  return bs58.encode(ed25519.getPublicKey(secretKey));
}

/** The key file text, byte-compatible with what `solana-keygen new -o` writes. */
export function encodeSecretKey(secretKey: Uint8Array): string {
  assertSecretKey(secretKey);
  return JSON.stringify([...secretKey, ...ed25519.getPublicKey(secretKey)]);
}

/** Reads a key file; the public half must match the seed, so a corrupted or spliced file is refused. */
export function decodeSecretKey(json: string): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new InvalidHostKeyError('host key file is not JSON (expected a solana-keygen array of 64 bytes)');
  }
  const length = SECRET_KEY_LENGTH + PUBLIC_KEY_LENGTH;
  if (!Array.isArray(parsed) || parsed.length !== length) {
    throw new InvalidHostKeyError(`host key file must be a JSON array of ${length} bytes`);
  }
  if (!parsed.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new InvalidHostKeyError('host key file holds a value that is not a byte (0..255)');
  }
  const bytes = Uint8Array.from(parsed as number[]);
  const secretKey = bytes.slice(0, SECRET_KEY_LENGTH);
  const storedPublic = bytes.slice(SECRET_KEY_LENGTH);
  if (bytesToHex(ed25519.getPublicKey(secretKey)) !== bytesToHex(storedPublic)) {
    throw new InvalidHostKeyError('host key file is inconsistent: its public key does not belong to its secret key');
  }
  return secretKey;
}

/** Hex ed25519 signature over `message`. */
export function signBytes(message: Uint8Array, secretKey: Uint8Array): string {
  assertSecretKey(secretKey);
  return bytesToHex(ed25519.sign(message, secretKey));
}

/**
 * False (never a throw) for anything that is not a valid signature by that key: the inputs come from
 * untrusted hosts. Strict RFC 8032 checks (no ZIP-215 leniency) so that one message has one valid
 * signature encoding per key.
 */
export function verifyBytes(message: Uint8Array, signatureHex: string, publicKeyBase58: string): boolean {
  try {
    if (typeof signatureHex !== 'string' || !/^[0-9a-f]+$/i.test(signatureHex)) return false;
    const signature = hexToBytes(signatureHex);
    const publicKey = bs58.decode(publicKeyBase58);
    if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export const nobleEd25519: SignatureScheme = { sign: signBytes, verify: verifyBytes };

/**
 * Whether a public key may be registered: its canonical encoding, a point of the curve and of its
 * prime-order subgroup (no small-order part). A small-order key lets anyone sign for it; a key off the
 * subgroup, or encoded two ways, is where ed25519 implementations disagree on what verifies. Refusing
 * them at the door makes every verifier the engine uses give one answer.
 */
export function isSoundPublicKey(publicKeyBase58: string): boolean {
  try {
    const bytes = bs58.decode(publicKeyBase58);
    if (bytes.length !== PUBLIC_KEY_LENGTH) return false;
    const point = ed25519.Point.fromBytes(bytes, false);
    return !point.is0() && point.isTorsionFree() && bytesToHex(point.toBytes()) === bytesToHex(bytes);
  } catch {
    return false;
  }
}

function assertSecretKey(secretKey: Uint8Array): void {
  if (!isBytes(secretKey) || secretKey.length !== SECRET_KEY_LENGTH) {
    throw new InvalidHostKeyError(`a host secret key is a ${SECRET_KEY_LENGTH}-byte ed25519 seed`);
  }
}
