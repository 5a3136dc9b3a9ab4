/** Keypairs in the Solana CLI's file format (a JSON array of the 64 secret-key bytes), readable by any client. */
import fs from 'node:fs';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';

export function readKeypair(file: string): Keypair {
  const bytes = JSON.parse(fs.readFileSync(file, 'utf8')) as number[];
  return Keypair.fromSecretKey(Uint8Array.from(bytes));
}

/** Written once (owner-only, atomically); the same key ever after, so a restart finds the same addresses. */
export function loadOrCreateKeypair(file: string): Keypair {
  if (fs.existsSync(file)) return readKeypair(file);
  const keypair = Keypair.generate();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(Array.from(keypair.secretKey)), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return keypair;
}

/** `<dataDir>/keys/<name>.json`: the local chain's keys, shared by the chain node and the bootstrap. */
export function keyFile(dataDir: string, name: string): string {
  return path.join(dataDir, 'keys', `${name}.json`);
}

/** The escrow admin: lease_escrow's upgrade authority on the local chain, hence the only key that may initialize
 * its Config, and the Config's admin. */
export const ESCROW_ADMIN_KEY = 'escrow-admin';
