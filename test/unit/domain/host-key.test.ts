import bs58 from 'bs58';
import {
  InvalidHostKeyError,
  decodeSecretKey,
  encodeSecretKey,
  generateHostKey,
  publicKeyOf,
  signBytes,
  verifyBytes,
} from '../../../domain/host-key';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

// RFC 8032 §7.1, test 1.
const RFC_SECRET = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const RFC_PUBLIC = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
const RFC_SIGNATURE =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

describe('host keys', () => {
  it('derives the base58 public key of a seed (RFC 8032 vector)', () => {
    expect(bs58.decode(publicKeyOf(RFC_SECRET))).toEqual(RFC_PUBLIC);
  });

  it('signs and verifies as ed25519 does (RFC 8032 vector)', () => {
    expect(signBytes(new Uint8Array(0), RFC_SECRET)).toBe(RFC_SIGNATURE);
    expect(verifyBytes(new Uint8Array(0), RFC_SIGNATURE, bs58.encode(RFC_PUBLIC))).toBe(true);
    expect(verifyBytes(new Uint8Array([1]), RFC_SIGNATURE, bs58.encode(RFC_PUBLIC))).toBe(false);
  });

  it('answers false, never throws, for garbage signatures and keys', () => {
    const pub = bs58.encode(RFC_PUBLIC);
    const empty = new Uint8Array(0);
    expect(verifyBytes(empty, 'zz', pub)).toBe(false);
    expect(verifyBytes(empty, RFC_SIGNATURE.slice(2), pub)).toBe(false);
    expect(verifyBytes(empty, '', pub)).toBe(false);
    expect(verifyBytes(empty, RFC_SIGNATURE, 'not-base58-0OIl')).toBe(false);
    expect(verifyBytes(empty, RFC_SIGNATURE, bs58.encode(new Uint8Array(31)))).toBe(false);
    expect(verifyBytes(empty, undefined as unknown as string, pub)).toBe(false);
  });

  it('generates distinct keys whose public half matches', () => {
    const a = generateHostKey();
    const b = generateHostKey();
    expect(a.secretKey).toHaveLength(32);
    expect(a.publicKey).toBe(publicKeyOf(a.secretKey));
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(bs58.decode(a.publicKey)).toHaveLength(32);
  });

  it('refuses a secret key that is not a 32-byte seed', () => {
    expect(() => publicKeyOf(new Uint8Array(64))).toThrow(InvalidHostKeyError);
    expect(() => signBytes(new Uint8Array(1), new Uint8Array(31))).toThrow(/32-byte/);
  });
});

describe('key files (solana-keygen format)', () => {
  it('writes a JSON array of 64 bytes: seed then public key', () => {
    const text = encodeSecretKey(RFC_SECRET);
    expect(text).toMatch(/^\[\d+(,\d+){63}\]$/);
    expect(JSON.parse(text)).toEqual([...RFC_SECRET, ...RFC_PUBLIC]);
  });

  it('reads what solana-keygen writes back to the seed', () => {
    const file = JSON.stringify([...RFC_SECRET, ...RFC_PUBLIC]);
    expect(decodeSecretKey(file)).toEqual(RFC_SECRET);
    const key = generateHostKey();
    expect(decodeSecretKey(encodeSecretKey(key.secretKey))).toEqual(key.secretKey);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['too short', JSON.stringify([...RFC_SECRET]), /64 bytes/],
    ['not bytes', JSON.stringify([...RFC_SECRET, ...RFC_PUBLIC].map((b, i) => (i === 3 ? 256 : b))), /not a byte/],
    ['inconsistent', JSON.stringify([...RFC_SECRET, ...new Uint8Array(32)]), /does not belong/],
  ])('refuses a key file that is %s', (_name, text, message) => {
    expect(() => decodeSecretKey(text)).toThrow(message);
  });
});
