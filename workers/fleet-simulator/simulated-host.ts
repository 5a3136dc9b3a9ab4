/**
 * One host of the fleet simulator: its own ed25519 key, its registration with its provider, the
 * desired state the API gives it, and its receipt chains (the agent's own ReceiptChains: the same
 * signing, chaining and acknowledgement as a real host). It runs no container: it reports every `run`
 * assignment as running and signs receipts for it, and says, in fields the wire format already has,
 * that nothing runs: telemetry `source: 'simulated'` with a name naming the simulator, the host
 * registered with `gpuSource: 'simulated'`, and each container report's `detail`.
 */
import type { DesiredState, HostApiClient, HostRegistration, HostReport, ReportAnswer } from '../host-agent/api-client';
import type { ReceiptChains } from '../host-agent/receipt-chains';
import type { SimulatedGpu, SimulatedGpuSpec } from '../host-agent/simulated-gpu';
import type { GpuTelemetry } from '../../domain/proof-receipt';

/** In every container report: the engine keeps it with the assignment (`reported_detail`). */
export const SIMULATED_CONTAINER_DETAIL = 'fleet-simulator: no container runs on this host';
/** Appended to the telemetry's GPU name in every receipt the simulator signs. */
export const SIMULATED_TELEMETRY_SUFFIX = ' (fleet-simulator, no container)';

/** Receipts per report at most, as the agent sends (the API takes 256). */
const RECEIPTS_PER_REPORT = 128;

export interface PlannedHost {
  hostId: string;
  providerKey: string;
  gpus: SimulatedGpuSpec[];
}

/**
 * `hosts` hosts named `<prefix>-<index>` (zero-padded, so they sort), spread round-robin over the
 * providers' keys: host i belongs to provider i mod providers.
 */
export function planHosts(count: number, prefix: string, providerKeys: string[], gpus: SimulatedGpuSpec[]): PlannedHost[] {
  if (providerKeys.length === 0) throw new Error('at least one provider key is needed');
  const width = String(Math.max(0, count - 1)).length;
  return [...Array(count).keys()].map((i) => ({
    hostId: `${prefix}-${String(i).padStart(width, '0')}`,
    providerKey: providerKeys[i % providerKeys.length]!,
    gpus,
  }));
}

/** What the host says about its containers: each `run` assignment running, and why nothing really does. */
export function simulatedContainers(desired: DesiredState | null): HostReport['containers'] {
  return (desired?.assignments ?? [])
    .filter((a) => a.state === 'run')
    .map((a) => ({ assignmentId: a.assignmentId, epoch: a.epoch, state: 'running' as const, detail: SIMULATED_CONTAINER_DETAIL }));
}

/** As the agent: report at least every proof interval of a running assignment, else every `reportIntervalMs`. */
export function reportDelayMs(desired: DesiredState | null, reportIntervalMs: number): number {
  const intervals = (desired?.assignments ?? []).filter((a) => a.state === 'run').map((a) => a.proofIntervalMs);
  return Math.min(reportIntervalMs, ...intervals);
}

/** Simulated readings, with the GPU's name saying who made them up. */
export function simulatorTelemetry(reading: GpuTelemetry): GpuTelemetry {
  return { ...reading, source: 'simulated', name: `${reading.name}${SIMULATED_TELEMETRY_SUFFIX}`.slice(0, 128) };
}

export interface SimulatedHostDeps {
  hostId: string;
  publicKey: string;
  gpus: SimulatedGpu[];
  chains: ReceiptChains;
  /** Long polls go through this client... */
  pollClient: HostApiClient;
  /** ...registrations and reports through this one (a bounded pool). */
  reportClient: HostApiClient;
}

export class SimulatedHost {
  private desired: DesiredState | null = null;
  /** Unix ms of the next report due; the fleet's shared ticker reads it. */
  nextReportAt = 0;
  reporting = false;
  registered = false;

  constructor(private readonly deps: SimulatedHostDeps) {}

  get hostId(): string {
    return this.deps.hostId;
  }

  registration(): HostRegistration {
    return {
      hostId: this.deps.hostId,
      publicKey: this.deps.publicKey,
      gpuSource: 'simulated',
      gpus: this.deps.gpus.map(({ id, model, vramGb, pricePerGpuHour }) => ({ id, model, vramGb, pricePerGpuHour })),
    };
  }

  register(signal: AbortSignal): Promise<unknown> {
    return this.deps.reportClient.register(this.registration(), signal);
  }

  /** One long poll; true when the desired state changed (the caller then reports at once). */
  async pollDesired(waitMs: number, signal: AbortSignal): Promise<boolean> {
    const known = this.desired?.version;
    const state = await this.deps.pollClient.desired(known ?? 0, known === undefined ? 0 : waitMs, signal);
    if (this.desired !== null && state.version === this.desired.version) return false;
    this.desired = state;
    for (const assignment of state.assignments) this.deps.chains.adopt(assignment);
    this.deps.chains.retain(new Set(state.assignments.map((a) => a.assignmentId)));
    return true;
  }

  reportDelayMs(reportIntervalMs: number): number {
    return reportDelayMs(this.desired, reportIntervalMs);
  }

  /** Signs what is due and sends one report; returns the API's answer and how many receipts went. */
  async report(now: number, signal: AbortSignal): Promise<{ answer: ReportAnswer; signed: number; sent: number }> {
    const desired = this.desired;
    let signed = 0;
    for (const assignment of desired?.assignments ?? []) {
      if (assignment.state !== 'run' || !this.deps.chains.due(assignment, now)) continue;
      const gpu = this.deps.gpus.find((g) => g.id === assignment.gpuId);
      if (!gpu) continue;
      this.deps.chains.sign(assignment, 'running', simulatorTelemetry(await gpu.readTelemetry(true)), now);
      signed += 1;
    }
    const report: HostReport = { containers: simulatedContainers(desired), receipts: this.deps.chains.pending(RECEIPTS_PER_REPORT) };
    const answer = await this.deps.reportClient.report(report, signal);
    this.deps.chains.acknowledge(answer);
    return { answer, signed, sent: report.receipts.length };
  }

  /** Running assignments now (for the fleet's statistics). */
  runningAssignments(): number {
    return (this.desired?.assignments ?? []).filter((a) => a.state === 'run').length;
  }
}
