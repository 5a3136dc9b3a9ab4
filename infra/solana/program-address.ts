/**
 * Program-derived and associated token addresses, each derived once per process. A derivation tries bump seeds
 * until the hash is off the curve, and every try decompresses a point in JavaScript: at 300 leases settling every
 * minute the control worker spent about a tenth of its CPU deriving the same few addresses again (bench:scale,
 * bench/README.md). An address is a pure function of its seeds, so a cache can never be stale.
 */
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import { PublicKey } from '@solana/web3.js';

/** Addresses kept; cleared wholesale past this many (a lease needs a handful). */
const MAX_CACHED = 50_000;
const cache = new Map<string, PublicKey>();

function remembered(key: string, derive: () => PublicKey): PublicKey {
  const hit = cache.get(key);
  if (hit) return hit;
  const address = derive();
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, address);
  return address;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** `PublicKey.findProgramAddressSync(seeds, programId)[0]`, derived once. */
export function programAddress(seeds: Uint8Array[], programId: PublicKey): PublicKey {
  return remembered(`pda:${hex(programId.toBytes())}:${seeds.map(hex).join(':')}`, () => PublicKey.findProgramAddressSync(seeds, programId)[0]);
}

/** `getAssociatedTokenAddressSync(mint, owner, allowOwnerOffCurve)`, derived once. */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey, allowOwnerOffCurve = false): PublicKey {
  return remembered(`ata:${hex(mint.toBytes())}:${hex(owner.toBytes())}:${allowOwnerOffCurve}`,
    () => getAssociatedTokenAddressSync(mint, owner, allowOwnerOffCurve));
}
