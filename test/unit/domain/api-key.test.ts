import { createHash } from 'node:crypto';
import bs58 from 'bs58';
import { generateApiKey, hashApiKey } from '../../../domain/api-key';

describe('API keys', () => {
  it('carries its kind and 24 random bytes in base58', () => {
    const key = generateApiKey('cus');
    const match = /^le_cus_([1-9A-HJ-NP-Za-km-z]+)$/.exec(key);
    expect(match).not.toBeNull();
    expect(bs58.decode(match![1]!)).toHaveLength(24);
    expect(generateApiKey('prv')).toMatch(/^le_prv_/);
  });

  it('never repeats', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey('cus')));
    expect(keys.size).toBe(200);
  });

  it('is stored as its sha256 hex', () => {
    const key = 'le_cus_abc';
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).not.toBe(hashApiKey('le_cus_abd'));
  });
});
