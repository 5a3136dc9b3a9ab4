/**
 * The fleet monitor's judgement against a real PostgreSQL (DESIGN §2.5): hosts silent past the
 * heartbeat timeout are lost; every running assignment with a fault is claimed with the right kind,
 * once per re-signal interval however many monitors look; and the monitor signals each claim to its
 * lease's workflow.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { acceptReport } from '../../../api/host-reports';
import type { ContainerReport } from '../../../infra/db/repositories/host-reports.repo';
import { recordApiAlive } from '../../../infra/db/repositories/api-liveness.repo';
import { endAssignment } from '../../../infra/db/repositories/assignments.repo';
import type { ClaimedFault } from '../../../infra/db/repositories/fleet.repo';
import { claimFaults, markSilentHostsLost } from '../../../infra/db/repositories/fleet.repo';
import { hostEventsOf } from '../../../infra/db/repositories/host-events.repo';
import { serveMetrics } from '../../../infra/metrics/registry';
import { startFleetMonitor } from '../../../workers/control/fleet-monitor';
import { createControlMetrics } from '../../../workers/control/metrics';
import { assignmentFaultSignal, leaseWorkflowId } from '../../../workflows/messages';
import type { TestAssignment } from '../../support/assignments';
import { openTestAssignment, reservedGpu } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedCustomer, seedGpus, seedHost, seedLease, seedProvider } from '../../support/seed';

const RESIGNAL_SECONDS = 60;
/** Long enough that no test here trips it but the one about it. */
const PROOF_TIMEOUT_SECONDS = 3600;

let fresh: FreshDatabase;
let customerId: string;
let providerId: string;

beforeAll(async () => {
  fresh = await freshDatabase();
  customerId = await seedCustomer(fresh.db);
  providerId = await seedProvider(fresh.db, 1);
});

afterAll(async () => {
  await fresh?.drop();
});

/** A new host with one assignment; running unless `running: false` (its host reported it so). */
async function assignmentOnNewHost(opts: { running?: boolean; hostId?: string } = {}): Promise<TestAssignment> {
  const hostId = opts.hostId ?? (await seedHost(fresh.db, { providerId }));
  const [gpuId] = await seedGpus(fresh.db, { hostId });
  const leaseId = await seedLease(fresh.db, customerId);
  const a = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId!, hostId, providerId), { epoch: 1 });
  if (opts.running !== false) await hostSays(a, 'running');
  return a;
}

async function hostSays(a: TestAssignment, state: ContainerReport['state'], extra: Partial<ContainerReport> = {}): Promise<void> {
  await acceptReport(fresh.db, a.hostId, { containers: [{ assignmentId: a.assignmentId, epoch: a.epoch, state, ...extra }], receipts: [] });
}

const silenceHost = (hostId: string, seconds: number) =>
  fresh.db.updateTable('hosts').set({ last_heartbeat_at: new Date(Date.now() - seconds * 1000) }).where('id', '=', hostId).execute();
const hostStatus = async (hostId: string) => (await fresh.db.selectFrom('hosts').select('status').where('id', '=', hostId).executeTakeFirstOrThrow()).status;

/** Claims, of these assignments only: other tests' faults share the database. */
async function claimsOf(assignments: TestAssignment[], claimed?: ClaimedFault[]): Promise<ClaimedFault[]> {
  const ids = new Set(assignments.map((a) => a.assignmentId));
  return (claimed ?? (await claimFaults(fresh.db, RESIGNAL_SECONDS, PROOF_TIMEOUT_SECONDS))).filter((c) => ids.has(c.assignmentId));
}

describe('markSilentHostsLost', () => {
  test('marks online hosts silent past the timeout lost, once, with an event', async () => {
    const silent = await seedHost(fresh.db, { providerId, heartbeatAgeSeconds: 45 });
    const recent = await seedHost(fresh.db, { providerId, heartbeatAgeSeconds: 5 });
    const offline = await seedHost(fresh.db, { providerId, status: 'offline', heartbeatAgeSeconds: 3600 });

    const lost = await markSilentHostsLost(fresh.db, 30);
    expect(lost).toContain(silent);
    expect(lost).not.toContain(recent);
    // A host that signed off stays offline rather than being reported lost.
    expect(lost).not.toContain(offline);
    expect(await hostStatus(silent)).toBe('lost');
    expect(await hostStatus(recent)).toBe('online');
    expect(await hostStatus(offline)).toBe('offline');

    expect(await markSilentHostsLost(fresh.db, 30)).not.toContain(silent);
    const events = await hostEventsOf(fresh.db, silent);
    expect(events.map((e) => [e.kind, e.detail])).toEqual([['lost', 'no report for more than 30 s']]);

    // Its next report brings it back.
    await acceptReport(fresh.db, silent, { containers: [], receipts: [] });
    expect(await hostStatus(silent)).toBe('online');
  });
});

describe('claimFaults', () => {
  test('claims each kind of fault of a running assignment with the right kind', async () => {
    const lost = await assignmentOnNewHost();
    const unhealthy = await assignmentOnNewHost();
    const exited = await assignmentOnNewHost();
    const missing = await assignmentOnNewHost();
    const healthy = await assignmentOnNewHost();

    await silenceHost(lost.hostId, 120);
    expect(await markSilentHostsLost(fresh.db, 30)).toContain(lost.hostId);
    await fresh.db.updateTable('hosts').set({ unhealthy_until: new Date(Date.now() + 60_000) }).where('id', '=', unhealthy.hostId).execute();
    await hostSays(exited, 'exited', { exitCode: 3 });
    await hostSays(missing, 'missing', { detail: 'the container is gone' });

    const claimed = await claimsOf([lost, unhealthy, exited, missing, healthy]);
    const byId = new Map(claimed.map((c) => [c.assignmentId, c]));
    expect(claimed).toHaveLength(4);
    expect(byId.get(lost.assignmentId)).toEqual({
      leaseId: lost.leaseId, assignmentId: lost.assignmentId, epoch: 1, kind: 'host_lost', detail: `host ${lost.hostId} stopped reporting`,
    });
    expect(byId.get(unhealthy.assignmentId)).toMatchObject({ leaseId: unhealthy.leaseId, kind: 'host_unhealthy', detail: `host ${unhealthy.hostId} is unhealthy` });
    expect(byId.get(exited.assignmentId)).toMatchObject({ leaseId: exited.leaseId, kind: 'container_exited', detail: 'container exited with code 3' });
    expect(byId.get(missing.assignmentId)).toMatchObject({ leaseId: missing.leaseId, kind: 'host_unhealthy', detail: `host ${missing.hostId} lost the container` });

    const rows = await fresh.db.selectFrom('assignments').select(['id', 'fault', 'fault_signalled_at']).where('id', '=', exited.assignmentId).executeTakeFirstOrThrow();
    expect(rows.fault).toBe('container_exited');
    expect(rows.fault_signalled_at).not.toBeNull();
  });

  test('a claimed fault is not claimed again within the re-signal interval, and is after it', async () => {
    const a = await assignmentOnNewHost();
    await hostSays(a, 'exited', { exitCode: 1 });
    expect(await claimsOf([a])).toHaveLength(1);
    expect(await claimsOf([a])).toEqual([]);
    expect(await claimsOf([a], await claimFaults(fresh.db, 3600, PROOF_TIMEOUT_SECONDS))).toEqual([]);

    // The signal was lost (the monitor crashed): the fault outlived the interval.
    await fresh.db.updateTable('assignments').set({ fault_signalled_at: new Date(Date.now() - (RESIGNAL_SECONDS + 1) * 1000) }).where('id', '=', a.assignmentId).execute();
    expect((await claimsOf([a])).map((c) => c.kind)).toEqual(['container_exited']);
  });

  test('an assignment not yet running, or ended, is not claimed', async () => {
    const hostId = await seedHost(fresh.db, { providerId });
    const dispatching = await assignmentOnNewHost({ hostId, running: false });
    // Its host says it could not start it: the dispatch handles that, not the monitor.
    await hostSays(dispatching, 'missing', { detail: 'image not present' });
    const ended = await assignmentOnNewHost({ hostId });
    await hostSays(ended, 'exited', { exitCode: 0 });
    await endAssignment(fresh.db, { assignmentId: ended.assignmentId, endReason: 'lease_completed' });
    await silenceHost(hostId, 120);
    expect(await markSilentHostsLost(fresh.db, 30)).toContain(hostId);

    expect(await claimsOf([dispatching, ended])).toEqual([]);
  });

  test('a container reported running with no accepted receipt for the proof timeout is its host\'s fault', async () => {
    const liar = await assignmentOnNewHost();
    const prover = await assignmentOnNewHost();
    const longAgo = new Date(Date.now() - 20_000);
    await fresh.db.updateTable('assignments').set({ running_at: longAgo }).where('id', 'in', [liar.assignmentId, prover.assignmentId]).execute();
    // The prover's last receipt was accepted just now; the liar says "running" and proves nothing.
    await fresh.db.updateTable('assignments').set({ first_receipt_at: longAgo, last_receipt_at: new Date() }).where('id', '=', prover.assignmentId).execute();
    await hostSays(liar, 'running');

    // A receipt is due an interval after the last: 13 s after one, with 5 s proofs, is not yet 10 s overdue.
    const slow = await assignmentOnNewHost();
    await fresh.db.updateTable('assignments').set({ running_at: longAgo, first_receipt_at: longAgo, last_receipt_at: new Date(Date.now() - 13_000), proof_interval_ms: 5_000 })
      .where('id', '=', slow.assignmentId).execute();
    await hostSays(slow, 'running');
    const ours = [liar.assignmentId, prover.assignmentId, slow.assignmentId];

    const claimed = (await claimFaults(fresh.db, RESIGNAL_SECONDS, 10)).filter((c) => ours.includes(c.assignmentId));
    const interval = (await fresh.db.selectFrom('assignments').select('proof_interval_ms').where('id', '=', liar.assignmentId).executeTakeFirstOrThrow()).proof_interval_ms;
    expect(claimed).toEqual([
      { leaseId: liar.leaseId, assignmentId: liar.assignmentId, epoch: 1, kind: 'host_unhealthy', detail: `host ${liar.hostId} proved nothing for ${10 + interval / 1000} s` },
    ]);
    // Overdue by the timeout at last (18 s after a receipt, 5 s proofs): its host's fault too.
    await fresh.db.updateTable('assignments').set({ last_receipt_at: new Date(Date.now() - 18_000) }).where('id', '=', slow.assignmentId).execute();
    expect((await claimFaults(fresh.db, RESIGNAL_SECONDS, 10)).map((c) => c.assignmentId)).toContain(slow.assignmentId);
    expect((await hostEventsOf(fresh.db, liar.hostId)).map((e) => e.kind)).toEqual(['no_proof']);
    const host = await fresh.db.selectFrom('hosts').select('unhealthy_until').where('id', '=', liar.hostId).executeTakeFirstOrThrow();
    expect(host.unhealthy_until!.getTime()).toBeGreaterThan(Date.now());
  });

  test('two monitors claiming at once claim each fault once', async () => {
    const faults = await Promise.all(Array.from({ length: 6 }, () => assignmentOnNewHost()));
    for (const a of faults) await hostSays(a, 'exited', { exitCode: 137 });
    const [one, two] = await Promise.all([claimFaults(fresh.db, RESIGNAL_SECONDS, PROOF_TIMEOUT_SECONDS), claimFaults(fresh.db, RESIGNAL_SECONDS, PROOF_TIMEOUT_SECONDS)]);
    const claimed = await claimsOf(faults, [...one!, ...two!]);
    expect(claimed.map((c) => c.assignmentId).sort()).toEqual(faults.map((a) => a.assignmentId).sort());
  });
});

describe('startFleetMonitor', () => {
  test('signals each fault to its lease workflow and goes on past a lease that already ended', async () => {
    const gone = await assignmentOnNewHost();
    const live = await assignmentOnNewHost();
    await hostSays(gone, 'exited', { exitCode: 2 });
    await hostSays(live, 'exited', { exitCode: 2 });

    const signals: { workflowId: string; name: string; arg: unknown }[] = [];
    const client = {
      workflow: {
        getHandle: (workflowId: string) => ({
          signal: async (def: { name: string }, arg: unknown) => {
            if (workflowId === leaseWorkflowId(gone.leaseId)) throw new WorkflowNotFoundError('gone', workflowId, undefined);
            signals.push({ workflowId, name: def.name, arg });
          },
        }),
      },
    } as unknown as Client;
    const metrics = createControlMetrics({ processMetrics: false });
    const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: 30, tickMs: 50, resignalSeconds: RESIGNAL_SECONDS, metrics });
    try {
      const deadline = Date.now() + 10_000;
      while (!signals.some((s) => s.workflowId === leaseWorkflowId(live.leaseId)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // A few more ticks: the claim holds, so nothing is signalled twice.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await monitor.stop();
    }
    expect(signals.filter((s) => s.workflowId === leaseWorkflowId(live.leaseId))).toEqual([{
      workflowId: leaseWorkflowId(live.leaseId),
      name: assignmentFaultSignal.name,
      arg: { assignmentId: live.assignmentId, epoch: 1, kind: 'container_exited', detail: 'container exited with code 2' },
    }]);

    // Its counts, as the control worker serves them on METRICS_PORT: delivered signals only (not the ended lease's).
    const server = await serveMetrics(metrics.registry, 0, '127.0.0.1');
    let text: string;
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      text = await res.text();
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
    const count = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const kinds = (kind: string) => signals.filter((s) => (s.arg as { kind: string }).kind === kind).length;
    expect(count('lease_engine_failovers_total')).toBe(new Set(signals.map((s) => (s.arg as { assignmentId: string }).assignmentId)).size);
    expect(count('lease_engine_faults_signalled_total{kind="container_exited"}')).toBe(kinds('container_exited'));
    expect(count('lease_engine_faults_signalled_total{kind="host_lost"}')).toBe(kinds('host_lost'));
    expect(count('lease_engine_hosts_lost_total')).toBeGreaterThanOrEqual(0);
  });

  test('counts hosts it marks lost', async () => {
    const a = await assignmentOnNewHost();
    await silenceHost(a.hostId, 120);
    // The API has been up long enough to have heard it: its silence counts.
    await recordApiAlive(fresh.db, 'fleet-monitor-metrics-test', new Date(Date.now() - 120_000));
    const metrics = createControlMetrics({ processMetrics: false });
    const client = { workflow: { getHandle: () => ({ signal: async () => undefined }) } } as unknown as Client;
    const monitor = startFleetMonitor({ db: fresh.db, client, heartbeatTimeoutSeconds: 30, tickMs: 50, resignalSeconds: RESIGNAL_SECONDS, metrics });
    try {
      const deadline = Date.now() + 10_000;
      while ((await hostStatus(a.hostId)) !== 'lost' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await monitor.stop();
      await fresh.db.deleteFrom('api_liveness').where('instance', '=', 'fleet-monitor-metrics-test').execute();
    }
    expect(await hostStatus(a.hostId)).toBe('lost');
    const lost = (await metrics.registry.getSingleMetric('lease_engine_hosts_lost_total')!.get()).values[0]!.value;
    expect(lost).toBeGreaterThanOrEqual(1);
    const faults = await metrics.registry.getSingleMetric('lease_engine_faults_signalled_total')!.get();
    expect(faults.values.find((v) => v.labels.kind === 'host_lost')!.value).toBeGreaterThanOrEqual(1);
  });
});
