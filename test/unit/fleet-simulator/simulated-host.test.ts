import { generateHostKey } from '../../../domain/host-key';
import { GENESIS_HASH, verifyReceiptBatch } from '../../../domain/proof-receipt';
import type { DesiredAssignment, DesiredState, HostApiClient, HostReport, ReportAnswer } from '../../../workers/host-agent/api-client';
import { ReceiptChains } from '../../../workers/host-agent/receipt-chains';
import { parseSimulatedGpuSpec, simulatedGpus } from '../../../workers/host-agent/simulated-gpu';
import {
  planHosts, reportDelayMs, SIMULATED_CONTAINER_DETAIL, SIMULATED_TELEMETRY_SUFFIX, SimulatedHost, simulatedContainers, simulatorTelemetry,
} from '../../../workers/fleet-simulator/simulated-host';

const GPUS = parseSimulatedGpuSpec('H100:80:2.00x2');

function assignment(overrides: Partial<DesiredAssignment> = {}): DesiredAssignment {
  return {
    assignmentId: 'asg-1', leaseId: 'lease-1', epoch: 1, gpuId: 'sim-0-gpu0', rank: 0, worldSize: 1, headHost: 'sim-0',
    image: 'img', command: null, env: {}, state: 'run', proofIntervalMs: 5_000, period: 0, challengeSeed: 'seed', chainTip: null,
    ...overrides,
  };
}

const desired = (...assignments: DesiredAssignment[]): DesiredState => ({ version: 1, assignments });

describe('planHosts', () => {
  it('names hosts so they sort and spreads them round-robin over the providers', () => {
    const hosts = planHosts(12, 'sim', ['k1', 'k2', 'k3'], GPUS);
    expect(hosts.map((h) => h.hostId)).toEqual(['sim-00', 'sim-01', 'sim-02', 'sim-03', 'sim-04', 'sim-05', 'sim-06', 'sim-07', 'sim-08', 'sim-09', 'sim-10', 'sim-11']);
    expect(hosts.map((h) => h.providerKey).slice(0, 4)).toEqual(['k1', 'k2', 'k3', 'k1']);
    expect(hosts.filter((h) => h.providerKey === 'k3')).toHaveLength(4);
    expect(planHosts(1, 'x', ['k'], GPUS)[0]!.hostId).toBe('x-0');
  });

  it('needs a provider', () => {
    expect(() => planHosts(3, 'sim', [], GPUS)).toThrow(/provider key/);
  });
});

describe('what a simulated host reports', () => {
  it('says every run assignment runs, and that no container does', () => {
    const containers = simulatedContainers(desired(assignment(), assignment({ assignmentId: 'asg-2', state: 'stop' })));
    expect(containers).toEqual([{ assignmentId: 'asg-1', epoch: 1, state: 'running', detail: SIMULATED_CONTAINER_DETAIL }]);
    expect(simulatedContainers(null)).toEqual([]);
  });

  it('reports every proof interval while a lease runs, else every report interval', () => {
    expect(reportDelayMs(null, 2_000)).toBe(2_000);
    expect(reportDelayMs(desired(assignment({ proofIntervalMs: 1_000 })), 2_000)).toBe(1_000);
    expect(reportDelayMs(desired(assignment({ proofIntervalMs: 1_000, state: 'stop' })), 2_000)).toBe(2_000);
  });

  it('marks telemetry as simulated by the fleet simulator', () => {
    const marked = simulatorTelemetry({ source: 'nvidia-smi', name: 'H100', utilizationPct: 1, memoryUsedMiB: 1, memoryTotalMiB: 2, temperatureC: 30, powerW: 70 });
    expect(marked.source).toBe('simulated');
    expect(marked.name).toBe(`H100${SIMULATED_TELEMETRY_SUFFIX}`);
    expect(simulatorTelemetry({ ...marked, name: 'x'.repeat(200) }).name).toHaveLength(128);
  });
});

describe('SimulatedHost', () => {
  const key = generateHostKey();
  const sent: HostReport[] = [];
  let state: DesiredState = desired(assignment());
  const fakeClient = {
    desired: async () => state,
    report: async (report: HostReport): Promise<ReportAnswer> => {
      sent.push(report);
      const last = report.receipts[report.receipts.length - 1];
      return { accepted: report.receipts.length, rejected: [], tips: last ? [{ assignmentId: last.body.assignmentId, seq: last.body.seq, hash: last.hash }] : [] };
    },
  } as unknown as HostApiClient;
  const host = new SimulatedHost({
    hostId: 'sim-0', publicKey: key.publicKey, gpus: simulatedGpus('sim-0', GPUS), chains: new ReceiptChains('sim-0', key.secretKey),
    pollClient: fakeClient, reportClient: fakeClient,
  });

  it('registers as a host with simulated GPUs', () => {
    expect(host.registration()).toEqual({
      hostId: 'sim-0', publicKey: key.publicKey, gpuSource: 'simulated',
      gpus: [
        { id: 'sim-0-gpu0', model: 'H100', vramGb: 80, pricePerGpuHour: '2.00' },
        { id: 'sim-0-gpu1', model: 'H100', vramGb: 80, pricePerGpuHour: '2.00' },
      ],
    });
  });

  it('signs chained receipts the API verifies, one per proof interval, each marked simulated', async () => {
    const controller = new AbortController();
    expect(await host.pollDesired(25_000, controller.signal)).toBe(true);
    expect(await host.pollDesired(25_000, controller.signal)).toBe(false);
    const t0 = Date.now();
    expect((await host.report(t0, controller.signal)).signed).toBe(1);
    // Not due again within the interval: the report carries containers only.
    expect((await host.report(t0 + 1_000, controller.signal)).signed).toBe(0);
    expect((await host.report(t0 + 5_000, controller.signal)).signed).toBe(1);
    const receipts = sent.flatMap((r) => r.receipts);
    expect(receipts.map((r) => r.body.seq)).toEqual([0, 1]);
    expect(receipts[0]!.body.prevHash).toBe(GENESIS_HASH);
    for (const receipt of receipts) {
      expect(receipt.body.telemetry.source).toBe('simulated');
      expect(receipt.body.telemetry.name).toContain('fleet-simulator');
    }
    const verified = verifyReceiptBatch(receipts, {
      publicKey: key.publicKey, leaseId: 'lease-1', assignmentId: 'asg-1', epoch: 1, hostId: 'sim-0', gpuId: 'sim-0-gpu0', tip: null,
      challengeSeed: 'seed', period: 0, proofIntervalMs: 5_000, now: t0 + 5_000, maxClockSkewMs: 5_000, notBefore: t0 - 1,
      watched: { firstArrivalAt: null, payableMsSoFar: 0 }, sample: () => true,
    });
    expect(verified.rejected).toEqual([]);
    expect(verified.accepted).toHaveLength(2);
    expect(sent[1]!.containers).toEqual([{ assignmentId: 'asg-1', epoch: 1, state: 'running', detail: SIMULATED_CONTAINER_DETAIL }]);
  });

  it('forgets chains of assignments no longer desired', async () => {
    state = { version: 2, assignments: [] };
    expect(await host.pollDesired(25_000, new AbortController().signal)).toBe(true);
    expect(host.runningAssignments()).toBe(0);
    expect((await host.report(Date.now() + 20_000, new AbortController().signal)).signed).toBe(0);
    expect(sent[sent.length - 1]).toEqual({ containers: [], receipts: [] });
  });
});
