import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findFreePort } from '../../../scripts/launcher/ports';
import { connectTemporal } from '../../../infra/temporal/connection';
import type { TemporalDevServer } from '../../../infra/temporal/dev-server';
import { defaultTemporalCliPath, startTemporalDevServer } from '../../../infra/temporal/dev-server';
import { ensureSearchAttributes, listSearchAttributeNames } from '../../../infra/temporal/search-attributes';

const LEASE_ATTRIBUTES = ['LeaseStatus', 'GpuModel', 'GpuTier', 'CustomerId', 'ProviderIds', 'FailoverCount'];

describe('Temporal dev server', () => {
  let dir: string;
  let server: TemporalDevServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lease-engine-temporal-'));
    server = await startTemporalDevServer({
      cliPath: defaultTemporalCliPath(),
      ip: '127.0.0.1',
      port: await findFreePort(),
      uiPort: await findFreePort(),
      dbFile: path.join(dir, 'temporal.db'),
      namespace: 'default',
    });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers on its frontend with every lease search attribute registered, typed', async () => {
    const { connection } = await connectTemporal(server.address, 'default');
    try {
      const response = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const custom = response.customAttributes ?? {};
      // IndexedValueType: 2 = KEYWORD, 3 = INT, 7 = KEYWORD_LIST
      expect(custom).toMatchObject({
        LeaseStatus: 2,
        GpuModel: 2,
        GpuTier: 3,
        CustomerId: 2,
        ProviderIds: 7,
        FailoverCount: 3,
      });
      expect(await ensureSearchAttributes(connection, 'default')).toEqual([]);
    } finally {
      await connection.close();
    }
  });

  it('serves the Web UI', async () => {
    const response = await fetch(server.uiUrl ?? 'missing UI URL');
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<html/i);
  });

  it('refuses to start where something already listens on its port', async () => {
    const [host, port] = server.address.split(':') as [string, string];
    await expect(
      startTemporalDevServer({
        cliPath: defaultTemporalCliPath(),
        ip: host,
        port: Number(port),
        uiPort: await findFreePort(),
        namespace: 'default',
        headless: true,
      }),
    ).rejects.toThrow(/port 127.0.0.1:\d+ is in use/);
  });

  it('stops: the process exits and the frontend no longer answers', async () => {
    await server.stop();
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    await expect(Connection.connect({ address: server.address, connectTimeout: 1_000 })).rejects.toThrow();
  });
});

describe('ensureSearchAttributes', () => {
  it('registers the missing ones on a server started without them, and is idempotent', async () => {
    // A plain dev server stands in for an external cluster (TEMPORAL_ADDRESS) that has none of ours.
    const port = await findFreePort();
    const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
    const child = spawn(defaultTemporalCliPath(), args, { stdio: 'ignore' });
    try {
      const { connection } = await connectTemporal(`127.0.0.1:${port}`, 'default');
      try {
        const before = await listSearchAttributeNames(connection, 'default');
        expect(LEASE_ATTRIBUTES.filter((name) => before.has(name))).toEqual([]);
        expect((await ensureSearchAttributes(connection, 'default')).sort()).toEqual([...LEASE_ATTRIBUTES].sort());
        const after = await listSearchAttributeNames(connection, 'default');
        expect(LEASE_ATTRIBUTES.every((name) => after.has(name))).toBe(true);
        expect(await ensureSearchAttributes(connection, 'default')).toEqual([]);
      } finally {
        await connection.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
