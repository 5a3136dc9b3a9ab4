/**
 * The agent's HTTP client against the real API app on a real PostgreSQL database: the contract
 * of registration and heartbeats, signatures included, as both sides implement it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { generateHostKey } from '../../../domain/host-key';
import { HostApiClient, HostApiError } from '../../../workers/host-agent/api-client';
import { DockerRuntime } from '../../../workers/host-agent/docker-runtime';
import { heartbeatUntilStopped, registerUntilAccepted } from '../../../workers/host-agent/host-link';
import type { HostLinkDeps } from '../../../workers/host-agent/host-link';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, newProvider, noWorkflowCalls } from '../api/fixtures';
import { uniqueHostId, waitFor } from './support';

jest.setTimeout(60_000);

let database: FreshDatabase;
let server: Server;
let apiUrl: string;

beforeAll(async () => {
  database = await freshDatabase();
  const app = buildApp(database.db, noWorkflowCalls);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await database?.drop();
});

function link(providerKey: string, hostId = uniqueHostId('api-host')): HostLinkDeps {
  const key = generateHostKey();
  return {
    client: new HostApiClient({ apiUrl, hostId, secretKey: key.secretKey, providerKey }),
    runtime: new DockerRuntime(hostId, 'none'),
    registration: {
      hostId,
      publicKey: key.publicKey,
      gpuSource: 'simulated',
      gpus: [{ id: `${hostId}-gpu0`, model: 'H100', vramGb: 80, pricePerGpuHour: '2.50' }],
    },
    heartbeatIntervalMs: 100,
    reconcileGraceMs: 15_000,
    logger: pino({ level: 'silent' }),
  };
}

it('registers a host under its provider and heartbeats with signed requests', async () => {
  const provider = await newProvider(database.db, 2);
  const deps = link(provider.apiKey);
  const registered = await registerUntilAccepted(deps, new AbortController().signal);
  expect(registered).toEqual({ hostId: deps.registration.hostId, providerId: provider.id, tier: 2 });

  const answer = await deps.client.heartbeat({ at: Date.now(), containers: [] });
  expect(answer).toEqual({ liveAssignments: [] });
  const host = await database.db.selectFrom('hosts').selectAll().where('id', '=', deps.registration.hostId).executeTakeFirstOrThrow();
  expect(host.public_key).toBe(deps.registration.publicKey);
  expect(host.last_heartbeat_at).not.toBeNull();
});

it('does not retry a registration the API refuses', async () => {
  const deps = link('not-a-provider-key');
  const refused = await registerUntilAccepted(deps, new AbortController().signal).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(HostApiError);
  expect((refused as HostApiError).status).toBe(401);
});

it('registers again when the API no longer knows the host', async () => {
  const provider = await newProvider(database.db, 1);
  const deps = link(provider.apiKey);
  const unknown = await deps.client.heartbeat({ at: Date.now(), containers: [] }).catch((error: unknown) => error);
  expect((unknown as HostApiError).status).toBe(404);

  const stop = new AbortController();
  const beating = heartbeatUntilStopped(deps, stop.signal);
  const host = await waitFor('re-registration and a heartbeat', async () => {
    const row = await database.db.selectFrom('hosts').selectAll().where('id', '=', deps.registration.hostId).executeTakeFirst();
    return row?.last_heartbeat_at ? row : undefined;
  });
  stop.abort();
  await beating;
  expect(host.provider_id).toBe(provider.id);
});
