import { createHash, createPublicKey, verify } from 'node:crypto';
import bs58 from 'bs58';
import { canonicalJson } from '../../../domain/canonical-json';
import {
  CHALLENGE_ITERATIONS,
  canonicalEncode,
  hashReceiptBody,
  payableSecondsOf,
  signReceipt,
  solveChallenge,
} from '../../../domain/proof-receipt';
import type { ProofReceiptBody } from '../../../domain/proof-receipt';
import { HOST_PUBLIC, HOST_SECRET, buildChain } from './receipt-fixtures';

const BODY: ProofReceiptBody = buildChain({ count: 1 })[0]!.body;

/** The same body with its keys inserted in reverse order at every level. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value) || typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}

describe('canonicalEncode', () => {
  it('sorts keys at every level and adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 'x', e: null }], c: true } })).toBe(
      '{"a":{"c":true,"d":[3,{"e":null,"f":"x"}]},"b":1}',
    );
  });

  it('gives the same bytes whatever order the body was built in', () => {
    const reordered = reversedKeys(BODY) as ProofReceiptBody;
    expect(Object.keys(reordered)[0]).not.toBe(Object.keys(BODY)[0]);
    expect(canonicalEncode(reordered)).toEqual(canonicalEncode(BODY));
    const text = new TextDecoder().decode(canonicalEncode(BODY));
    expect(text.startsWith('{"assignmentId":"asg-1","at":')).toBe(true);
    expect(JSON.parse(text)).toEqual(BODY);
  });

  it('refuses numbers JSON cannot represent instead of encoding them as null', () => {
    expect(() => canonicalEncode({ ...BODY, at: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ a: Infinity })).toThrow(/Infinity/);
  });
});

describe('hashReceiptBody and signReceipt', () => {
  it('hashes the canonical encoding with sha256', () => {
    const expected = createHash('sha256').update(canonicalEncode(BODY)).digest('hex');
    expect(hashReceiptBody(BODY)).toBe(expected);
    expect(hashReceiptBody({ ...BODY, seq: 1 })).not.toBe(expected);
  });

  it('signs the 32 hash bytes with the host key (checked by Node’s own ed25519)', () => {
    const receipt = signReceipt(BODY, HOST_SECRET);
    expect(receipt.body).toBe(BODY);
    expect(receipt.hash).toBe(hashReceiptBody(BODY));
    expect(receipt.signature).toMatch(/^[0-9a-f]{128}$/);
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bs58.decode(HOST_PUBLIC)).toString('base64url') },
      format: 'jwk',
    });
    const signature = Buffer.from(receipt.signature, 'hex');
    expect(verify(null, Buffer.from(receipt.hash, 'hex'), key, signature)).toBe(true);
    expect(verify(null, Buffer.from(receipt.hash, 'utf8'), key, signature)).toBe(false);
  });
});

describe('solveChallenge', () => {
  it('is iterated sha256 over "seed|seq"', () => {
    let digest = createHash('sha256').update('seed-x|7').digest();
    for (let i = 1; i < CHALLENGE_ITERATIONS; i++) digest = createHash('sha256').update(digest).digest();
    expect(solveChallenge('seed-x', 7)).toBe(digest.toString('hex'));
  });

  it('depends on both the seed and the seq, and is deterministic', () => {
    const answer = solveChallenge('seed-x', 7);
    expect(solveChallenge('seed-x', 7)).toBe(answer);
    expect(solveChallenge('seed-x', 8)).not.toBe(answer);
    expect(solveChallenge('seed-y', 7)).not.toBe(answer);
  });
});

describe('payableSecondsOf', () => {
  it('floors milliseconds to whole seconds', () => {
    expect(payableSecondsOf(0)).toBe(0);
    expect(payableSecondsOf(999)).toBe(0);
    expect(payableSecondsOf(1_000)).toBe(1);
    expect(payableSecondsOf(59_999)).toBe(59);
  });
});
