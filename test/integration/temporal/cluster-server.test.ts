/**
 * The cluster topology's Temporal (issue 9): Temporal's real server on PostgreSQL, its schema set up by its
 * own schema tool, runs a real lease end to end: placed, running on a host agent's container, settled on
 * the chain, cancelled, its money balanced. The server is the one `npm run start:cluster` runs
 * (scripts/setup.sh test|ci builds it); without it the test is skipped, saying how to get it.
 */
import { findTemporalServer, defaultTemporalServerHome } from '../../../infra/temporal/cluster-server';
import { listSettlements } from '../../../infra/db/repositories/escrow-ledger.repo';
import { leaseWorkflowId } from '../../../workflows/messages';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { expectMoneyBalanced, paidByProvider } from '../../support/money';
import type { TestTemporalCluster } from '../../support/temporal-cluster';
import { startTestTemporalCluster } from '../../support/temporal-cluster';

const install = findTemporalServer();
const withServer = install ? test : test.skip;
if (!install) {
  console.warn(
    `cluster-server.test: skipped: no Temporal server at ${defaultTemporalServerHome()} ` +
      '(`bash scripts/setup.sh test` or `bash scripts/cluster/install-temporal-server.sh` builds it)',
  );
}

let cluster: TestTemporalCluster | undefined;
let engine: TestEngine | undefined;

beforeAll(async () => {
  if (!install) return;
  cluster = await startTestTemporalCluster(install);
  engine = await startEngine({
    hosts: [{ hostId: 'cl-t1-a', provider: 'cl-atlas', tier: 1, gpus: 'A100:80:2.00x1' }],
    temporalAddress: cluster.address,
  });
}, 120_000);
afterAll(async () => {
  await engine?.stop();
  await cluster?.stop();
});

withServer('a lease runs, settles and ends on Temporal\'s server on PostgreSQL', async () => {
  const e = engine!;
  const info = await e.temporal.client.workflowService.getClusterInfo({});
  expect(info).toMatchObject({ serverVersion: '1.29.1', persistenceStore: 'postgres12', visibilityStore: 'postgres12' });

  const created = await e.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '2.50', durationSeconds: 60, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  await waitFor(async () => (await e.request('GET', `/v1/leases/${leaseId}`)).body.status === 'running', 30_000, 'lease running');
  // One settlement period (5 s) paid on the chain through the workflow's activities.
  await waitFor(async () => (await listSettlements(e.database.db, leaseId)).length > 0, 30_000, 'a period settled');

  const cancelled = await e.request('POST', `/v1/leases/${leaseId}/cancel`);
  expect(cancelled.status).toBe(200);
  const ended = await waitFor(async () => {
    const lease = (await e.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'cancelled' && lease.assignments.every((a: { endedAt: string | null }) => a.endedAt !== null) && lease;
  }, 30_000, 'lease cancelled');
  expect(ended.endReason).toBe('cancelled by customer');

  // Settled: the chain and the ledger agree and balance; the provider is paid exactly its proven seconds.
  const { settlements } = await waitFor(async () => {
    try {
      return await expectMoneyBalanced(e, leaseId);
    } catch {
      return undefined;
    }
  }, 30_000, 'the lease closed on the chain');
  const paid = paidByProvider(settlements).get(e.providers.get('cl-atlas')!.id);
  expect(paid?.seconds).toBe(ended.assignments[0].verifiedSeconds);
  expect(paid!.seconds).toBeGreaterThan(0);

  // The search attributes the lease sets are registered on this server (SQL visibility).
  const attributes = (await e.temporal.client.workflow.getHandle(leaseWorkflowId(leaseId)).describe()).searchAttributes;
  expect(attributes).toMatchObject({ GpuModel: ['A100'], GpuTier: [1] });
}, 90_000);
