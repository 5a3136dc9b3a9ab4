import { ed25519 } from '@noble/curves/ed25519';
import { sha512 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import bs58 from 'bs58';
import { generateHostKey, isSoundPublicKey, nobleEd25519, publicKeyOf } from '../../../domain/host-key';
import { nativeEd25519 } from '../../../infra/crypto/native-ed25519';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (bytes: Uint8Array): bigint => BigInt(`0x${bytesToHex(Uint8Array.from(bytes).reverse()) || '0'}`);
const toLe32 = (n: bigint): Uint8Array => hexToBytes(n.toString(16).padStart(64, '0')).reverse();
const ORDER_2_POINT = 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f';

/** A deterministic stream of test bytes, so a failure can be run again. */
function bytesOf(seed: number, length: number): Uint8Array {
  return sha512(new TextEncoder().encode(`native-ed25519 ${seed}`)).slice(0, length);
}

describe('native ed25519 (node:crypto) against the reference (@noble/curves)', () => {
  it('makes the same signatures, byte for byte (ed25519 is deterministic)', () => {
    for (let i = 0; i < 50; i++) {
      const seed = bytesOf(i, 32);
      const message = bytesOf(1000 + i, i);
      expect(nativeEd25519.sign(message, seed)).toBe(nobleEd25519.sign(message, seed));
    }
  });

  it('gives the same answer for valid, tampered and misaddressed signatures', () => {
    let checked = 0;
    for (let i = 0; i < 40; i++) {
      const key = generateHostKey();
      const other = generateHostKey();
      const message = bytesOf(i, 32);
      const signature = nobleEd25519.sign(message, key.secretKey);
      const flipped = hexToBytes(signature);
      flipped[i % 64] = flipped[i % 64]! ^ (1 << i % 8);
      const tamperedMessage = Uint8Array.from(message);
      tamperedMessage[i % 32] = tamperedMessage[i % 32]! ^ 0x80;
      const cases: [Uint8Array, string, string, boolean][] = [
        [message, signature, key.publicKey, true],
        [message, bytesToHex(flipped), key.publicKey, false],
        [tamperedMessage, signature, key.publicKey, false],
        [message, signature, other.publicKey, false],
      ];
      for (const [m, s, k, expected] of cases) {
        expect(nobleEd25519.verify(m, s, k)).toBe(expected);
        expect(nativeEd25519.verify(m, s, k)).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(160);
  });

  it('refuses a signature malleated to S + L, as the strict reference does', () => {
    const key = generateHostKey();
    const message = bytesOf(7, 32);
    const signature = hexToBytes(nobleEd25519.sign(message, key.secretKey));
    const malleated = bytesToHex(Uint8Array.from([...signature.slice(0, 32), ...toLe32(le(signature.slice(32)) + L)]));
    expect(nobleEd25519.verify(message, malleated, key.publicKey)).toBe(false);
    expect(nativeEd25519.verify(message, malleated, key.publicKey)).toBe(false);
  });

  it('refuses a nonce with a small-order part that only a cofactored check accepts (only the signer can make one)', () => {
    const seed = bytesOf(9, 32);
    const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
    const message = bytesOf(10, 32);
    const r = le(bytesOf(11, 32)) % L;
    const R = ed25519.Point.BASE.multiply(r).add(ed25519.Point.fromHex(ORDER_2_POINT)).toBytes();
    const h = le(sha512(Uint8Array.from([...R, ...pointBytes, ...message]))) % L;
    const signature = bytesToHex(Uint8Array.from([...R, ...toLe32((r + h * scalar) % L)]));
    const publicKey = bs58.encode(pointBytes);
    expect(isSoundPublicKey(publicKey)).toBe(true);
    // The reference checks with the cofactor (8·(SB − R − hA) = 0) and accepts; OpenSSL wants SB − hA = R exactly.
    expect(nobleEd25519.verify(message, signature, publicKey)).toBe(true);
    expect(nativeEd25519.verify(message, signature, publicKey)).toBe(false);
  });

  it('answers false, never throws, for garbage', () => {
    const key = generateHostKey();
    const message = new Uint8Array(0);
    const signature = nativeEd25519.sign(message, key.secretKey);
    for (const [sig, pub] of [
      ['zz', key.publicKey],
      [signature.slice(2), key.publicKey],
      ['', key.publicKey],
      [signature, 'not-base58-0OIl'],
      [signature, bs58.encode(new Uint8Array(31))],
      [signature, ''],
      [undefined, key.publicKey],
      [signature, undefined],
    ] as [string, string][]) {
      expect(nativeEd25519.verify(message, sig, pub)).toBe(false);
    }
    expect(nativeEd25519.verify(message, signature, key.publicKey)).toBe(true);
  });

  it('signs only with a 32-byte seed', () => {
    expect(() => nativeEd25519.sign(new Uint8Array(1), new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

describe('sound public keys (what a host may register)', () => {
  const identity = `01${'00'.repeat(31)}`;
  const mixedOrder = (): string => {
    const key = generateHostKey();
    return bs58.encode(ed25519.Point.fromHex(bs58.decode(key.publicKey)).add(ed25519.Point.fromHex(ORDER_2_POINT)).toBytes());
  };

  it('accepts generated keys', () => {
    for (let i = 0; i < 10; i++) expect(isSoundPublicKey(generateHostKey().publicKey)).toBe(true);
    expect(isSoundPublicKey(publicKeyOf(bytesOf(1, 32)))).toBe(true);
  });

  it.each([
    ['the identity (anyone can sign for it)', bs58.encode(hexToBytes(identity))],
    ['a point of order 2', bs58.encode(hexToBytes(ORDER_2_POINT))],
    ['a point of order 4', bs58.encode(new Uint8Array(32))],
    ['the identity encoded with y + p', bs58.encode(hexToBytes(`ee${'ff'.repeat(30)}7f`))],
    ['a key with a small-order part', mixedOrder()],
    ['a y that is not on the curve', bs58.encode(hexToBytes(`02${'00'.repeat(31)}`))],
    ['31 bytes', bs58.encode(new Uint8Array(31).fill(9))],
    ['not base58', 'O0Il'],
  ])('refuses %s', (_name, key) => {
    expect(isSoundPublicKey(key)).toBe(false);
  });

  it('lets a small-order key verify a forged signature under both (why registration refuses it)', () => {
    const pub = bs58.encode(hexToBytes(identity));
    const forged = `${identity}${'00'.repeat(32)}`;
    const message = bytesOf(3, 32);
    expect(nobleEd25519.verify(message, forged, pub)).toBe(false); // the strict reference refuses small-order keys itself
    expect(nativeEd25519.verify(message, forged, pub)).toBe(true); // OpenSSL does not: registration must
  });
});
