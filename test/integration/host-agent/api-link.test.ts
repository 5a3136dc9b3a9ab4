/**
 * The agent's HTTP client against the real API app on a real PostgreSQL database: registration, the
 * desired-state long poll and reports, signatures (query strings included) as both sides implement
 * them; and the agent loop joining again when the API does not know its host.
 */
import pino from 'pino';
import { generateHostKey } from '../../../domain/host-key';
import type { HostKey } from '../../../domain/host-key';
import { openAssignments } from '../../../infra/db/repositories/assignments.repo';
import { AgentLoop } from '../../../workers/host-agent/agent-loop';
import { HostApiClient, HostApiError } from '../../../workers/host-agent/api-client';
import { DockerRuntime } from '../../../workers/host-agent/docker-runtime';
import type { HostLinkDeps } from '../../../workers/host-agent/host-link';
import { registerUntilAccepted } from '../../../workers/host-agent/host-link';
import { ReceiptChains } from '../../../workers/host-agent/receipt-chains';
import { openingOf } from '../../support/assignments';
import { seedCustomer, seedLease } from '../../support/seed';
import { newProvider } from '../api/fixtures';
import type { ServedApi } from './support';
import { serveApi, uniqueHostId, waitFor } from './support';

jest.setTimeout(60_000);

let api: ServedApi;

beforeAll(async () => {
  api = await serveApi();
});

afterAll(async () => {
  await api?.close();
});

function link(providerKey: string, hostId = uniqueHostId('api-host')): HostLinkDeps & { key: HostKey } {
  const key = generateHostKey();
  return {
    key,
    client: new HostApiClient({ apiUrl: api.url, hostId, secretKey: key.secretKey, providerKey }),
    registration: {
      hostId,
      publicKey: key.publicKey,
      gpuSource: 'simulated',
      gpus: [{ id: `${hostId}-gpu0`, model: 'H100', vramGb: 80, pricePerGpuHour: '2.50' }],
    },
    logger: pino({ level: 'silent' }),
  };
}

async function openOn(deps: HostLinkDeps, providerId: string, opts: Parameters<typeof openingOf>[2] = {}) {
  const leaseId = await seedLease(api.database.db, await seedCustomer(api.database.db));
  const hostId = deps.registration.hostId;
  const opening = openingOf(leaseId, { gpuId: `${hostId}-gpu0`, hostId, providerId, tier: 2, model: 'H100', pricePerGpuHour: '2500000' }, opts);
  await openAssignments(api.database.db, opening);
  return opening.assignments[0]!.assignmentId;
}

it('registers a host under its provider, long-polls its desired state and reports, all signed', async () => {
  const provider = await newProvider(api.database.db, 2);
  const deps = link(provider.apiKey);
  const { client } = deps;
  expect(await registerUntilAccepted(deps, new AbortController().signal)).toEqual({ hostId: deps.registration.hostId, providerId: provider.id, tier: 2 });
  expect(await client.desired(0, 0)).toEqual({ version: 0, assignments: [] });

  // The long poll's query string is part of what is signed: the API must verify it as sent.
  const started = Date.now();
  const polling = client.desired(0, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const assignmentId = await openOn(deps, provider.id, { proofIntervalMs: 500 });
  const desired = await polling;
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(desired.version).toBe(1);
  expect(desired.assignments).toMatchObject([{ assignmentId, state: 'run', proofIntervalMs: 500, chainTip: null }]);

  const [assignment] = desired.assignments;
  const chains = new ReceiptChains(deps.registration.hostId, deps.key.secretKey);
  chains.adopt(assignment!);
  const telemetry = { source: 'simulated' as const, name: 'H100', utilizationPct: 0, memoryUsedMiB: 0, memoryTotalMiB: 81_559, temperatureC: 40, powerW: 100 };
  chains.sign(assignment!, 'running', telemetry, Date.now() - 1_000);
  const last = chains.sign(assignment!, 'running', telemetry, Date.now() - 500);
  const answer = await client.report({ containers: [{ assignmentId, epoch: 0, state: 'running' }], receipts: chains.pending(10) });
  expect(answer).toEqual({ accepted: 2, rejected: [], tips: [{ assignmentId, seq: 1, hash: last.hash }] });
  chains.acknowledge(answer);
  expect(chains.pending(10)).toEqual([]);

  // The desired state now carries the tip a restarted agent would continue from.
  expect((await client.desired(0, 0)).assignments[0]!.chainTip).toEqual({ seq: 1, hash: last.hash, at: last.body.at });
});

it('does not retry a registration the API refuses', async () => {
  const deps = link('not-a-provider-key');
  const refused = await registerUntilAccepted(deps, new AbortController().signal).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(HostApiError);
  expect((refused as HostApiError).status).toBe(401);
  expect((refused as HostApiError).transient).toBe(false);
});

it('a request signed with a key the host did not register is refused', async () => {
  const provider = await newProvider(api.database.db, 1);
  const deps = link(provider.apiKey);
  await registerUntilAccepted(deps, new AbortController().signal);
  const impostor = new HostApiClient({ apiUrl: api.url, hostId: deps.registration.hostId, secretKey: generateHostKey().secretKey, providerKey: provider.apiKey });
  const refused = await impostor.report({ containers: [], receipts: [] }).catch((error: unknown) => error);
  expect(refused).toMatchObject({ status: 401, detail: expect.stringMatching(/does not verify/) });
});

it('the agent loop registers again when the API does not know its host, then reports', async () => {
  const provider = await newProvider(api.database.db, 1);
  const deps = link(provider.apiKey);
  const unknown = await deps.client.desired(0, 0).catch((error: unknown) => error);
  expect(unknown).toMatchObject({ status: 404 });

  const stop = new AbortController();
  let registrations = 0;
  const loop = new AgentLoop({
    hostId: deps.registration.hostId,
    client: deps.client,
    runtime: new DockerRuntime(deps.registration.hostId),
    gpus: [],
    chains: new ReceiptChains(deps.registration.hostId, deps.key.secretKey),
    reportIntervalMs: 100,
    logger: deps.logger,
    register: async (signal) => {
      registrations += 1;
      await registerUntilAccepted(deps, signal);
    },
    pollWaitMs: 1_000,
  });
  const running = loop.run(stop.signal);
  try {
    const host = await waitFor('re-registration and a report', async () => {
      const row = await api.database.db.selectFrom('hosts').selectAll().where('id', '=', deps.registration.hostId).executeTakeFirst();
      // Registration sets the heartbeat too: wait for one a report moved after it.
      return row && row.last_heartbeat_at && row.last_heartbeat_at.getTime() > row.registered_at.getTime() + 50 ? row : undefined;
    });
    expect(host.provider_id).toBe(provider.id);
    expect(registrations).toBe(1);
  } finally {
    stop.abort();
    await running;
  }
});
