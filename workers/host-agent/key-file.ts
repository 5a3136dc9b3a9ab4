/**
 * The host's ed25519 identity on disk (solana-keygen format). Created once at first start and reused
 * afterwards: the API knows a host by this key, so a restarted agent must come back with the same one.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeSecretKey, encodeSecretKey, generateHostKey, publicKeyOf } from '../../domain/host-key';

export interface LoadedHostKey {
  secretKey: Uint8Array;
  publicKey: string;
  /** True when this call generated the key. */
  created: boolean;
}

export async function loadOrCreateHostKey(file: string): Promise<LoadedHostKey> {
  const existing = await readKeyFile(file);
  if (existing !== undefined) {
    const secretKey = decodeSecretKey(existing);
    return { secretKey, publicKey: publicKeyOf(secretKey), created: false };
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = generateHostKey();
  try {
    // 'wx': two agents started at once with the same file must not overwrite each other's key.
    await writeFile(file, encodeSecretKey(key.secretKey), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateHostKey(file);
    throw error;
  }
  return { ...key, created: true };
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
