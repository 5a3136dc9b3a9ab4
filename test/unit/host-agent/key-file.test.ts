import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateHostKey } from '../../../workers/host-agent/key-file';

describe('loadOrCreateHostKey', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'host-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a private solana-keygen file once and reuses it after', async () => {
    const file = path.join(dir, 'hosts', 'h1.key.json');
    const first = await loadOrCreateHostKey(file);
    expect(first.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const bytes = JSON.parse(await readFile(file, 'utf8')) as number[];
    expect(bytes).toHaveLength(64);

    const again = await loadOrCreateHostKey(file);
    expect(again.created).toBe(false);
    expect(again.publicKey).toBe(first.publicKey);
    expect(Buffer.from(again.secretKey).equals(Buffer.from(first.secretKey))).toBe(true);
  });

  it('refuses a corrupted key file instead of replacing the identity', async () => {
    const file = path.join(dir, 'bad.key.json');
    await writeFile(file, '[1,2,3]');
    await expect(loadOrCreateHostKey(file)).rejects.toThrow(/64 bytes/);
  });
});
