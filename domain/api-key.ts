/**
 * API keys for customers (`cus`), providers (`prv`) and operators (`opr`). Only the sha256 of a key is stored, so a
 * database leak reveals no usable key; 24 random bytes make guessing hopeless, so no slow hash is needed.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, randomBytes, utf8ToBytes } from '@noble/hashes/utils';
import bs58 from 'bs58';

export type ApiKeyPrefix = 'cus' | 'prv' | 'opr';

const API_KEY_RANDOM_BYTES = 24;

export function generateApiKey(prefix: ApiKeyPrefix): string {
  return `le_${prefix}_${bs58.encode(randomBytes(API_KEY_RANDOM_BYTES))}`;
}

export function hashApiKey(key: string): string {
  return bytesToHex(sha256(utf8ToBytes(key)));
}
