/**
 * The agent's two loops (DESIGN §2.3): a long poll that keeps the desired state current, and a report
 * loop that reconciles Docker to it, signs the receipts that are due and sends one signed report per
 * tick. Both go on through API outages: containers keep running, receipts pile up (bounded) and are
 * sent when the API is back; the API's answer says where each chain continues.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DesiredAssignment, DesiredState, HostApiClient, HostReport, ReportAnswer } from './api-client';
import { delayAfterReportError, HostApiError } from './api-client';
import type { DockerRuntime } from './docker-runtime';
import type { HostGpu } from './host-gpu';
import type { LogBatch, LogShipper } from './log-shipper';
import { describe } from './host-link';
import type { LeaseContainer } from './reconcile';
import { assignmentKey, planReconcile } from './reconcile';
import type { ReceiptChains } from './receipt-chains';

export interface AgentLoopDeps {
  hostId: string;
  client: HostApiClient;
  runtime: DockerRuntime;
  gpus: HostGpu[];
  chains: ReceiptChains;
  reportIntervalMs: number;
  logger: Logger;
  /** Called when the API no longer knows this host (401/404): register again. */
  register: (signal: AbortSignal) => Promise<void>;
  /** Long-poll wait; the API answers within 100 ms of a change anyway. */
  pollWaitMs?: number;
  /** Ships the containers' stdout and stderr with the reports; absent: no logs are sent. */
  logs?: LogShipper;
}

/** Receipts per report at most (the API takes 256): a backlog after an outage drains over a few reports. */
const RECEIPTS_PER_REPORT = 128;

export class AgentLoop {
  private desired: DesiredState | null = null;
  /** Assignments this agent started, or failed to start (with why): never started again. */
  private readonly tried = new Map<string, string | null>();
  private readonly stopping = new Set<string>();
  private reconciling: Promise<LeaseContainer[]> = Promise.resolve([]);
  private wakeReport: () => void = () => undefined;

  constructor(private readonly deps: AgentLoopDeps) {}

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pollDesired(signal), this.reportLoop(signal)]);
  }

  private async pollDesired(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const known = this.desired?.version;
        const state = await this.deps.client.desired(known ?? 0, known === undefined ? 0 : (this.deps.pollWaitMs ?? 25_000), signal);
        failures = 0;
        if (this.desired === null || state.version !== this.desired.version) {
          this.desired = state;
          for (const assignment of state.assignments) this.deps.chains.adopt(assignment);
          this.deps.chains.retain(new Set(state.assignments.map((a) => a.assignmentId)));
          // Start or stop at once: a dispatch waits on this host's report that the container runs.
          this.wakeReport();
        }
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        await this.onApiError(error, 'desired-state poll failed', signal);
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async reportLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let waitMs = this.tickMs();
      try {
        await this.reportOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        await this.onApiError(error, 'report failed; receipts kept for the next one', signal);
        // Refused for load: back no sooner than usual nor than the API asked, spread out from the others refused.
        waitMs = delayAfterReportError(error, waitMs);
      }
      const woken = new Promise<void>((resolve) => (this.wakeReport = resolve));
      await Promise.race([sleep(waitMs, undefined, { signal }).catch(() => undefined), woken]);
    }
  }

  /** Every proof interval at least, so that no receipt is signed late enough to leave a gap unpaid. */
  private tickMs(): number {
    const intervals = (this.desired?.assignments ?? []).filter((a) => a.state === 'run').map((a) => a.proofIntervalMs);
    return Math.min(this.deps.reportIntervalMs, ...intervals);
  }

  private async reportOnce(signal: AbortSignal): Promise<void> {
    const containers = await this.reconcile();
    const desired = this.desired;
    if (desired === null) return;
    const report: HostReport = { containers: [], receipts: [] };
    const now = Date.now();
    for (const assignment of desired.assignments.filter((a) => a.state === 'run')) {
      const key = assignmentKey(assignment.assignmentId, assignment.epoch);
      const container = containers.find((c) => assignmentKey(c.assignmentId, c.epoch) === key);
      if (container) {
        const exitCode = container.state === 'exited' ? (await this.deps.runtime.inspect(container.containerId)).exitCode : undefined;
        report.containers.push({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, state: container.state, ...(exitCode !== undefined ? { exitCode } : {}) });
        if (container.state === 'running' && this.deps.chains.due(assignment, now)) await this.sign(assignment, now);
      } else {
        const failure = this.tried.get(key);
        // Not started yet (a start in flight) says nothing; a failed start says why.
        if (failure) report.containers.push({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, state: 'missing', detail: failure });
        else if (this.tried.has(key)) report.containers.push({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, state: 'missing', detail: 'the container is gone' });
      }
    }
    report.receipts = this.deps.chains.pending(RECEIPTS_PER_REPORT);
    const logBatches = await this.pendingLogs(containers, desired);
    if (logBatches.length > 0) report.logs = logBatches.map(({ upTo: _upTo, ...batch }) => batch);
    let answer: ReportAnswer;
    try {
      answer = await this.deps.client.report(report, signal);
    } catch (error) {
      // Refused as malformed: sending the same lines again would lose every report after this one too.
      if (logBatches.length > 0 && error instanceof HostApiError && [400, 413, 422].includes(error.status)) {
        this.deps.logs?.acknowledge(logBatches);
        this.deps.logger.warn({ err: describe(error) }, 'the API refused a report with container logs; those lines are dropped');
      }
      throw error;
    }
    this.deps.logs?.acknowledge(logBatches);
    this.deps.chains.acknowledge(answer);
    if (answer.rejected.length > 0) this.deps.logger.warn({ rejected: answer.rejected.slice(0, 5) }, 'the API rejected receipts; chains continue from its tips');
  }

  /** Reads what the desired assignments' containers wrote; a Docker hiccup costs this report its logs, not the report. */
  private async pendingLogs(containers: LeaseContainer[], desired: DesiredState): Promise<LogBatch[]> {
    const { logs, logger } = this.deps;
    if (!logs) return [];
    try {
      await logs.collect(containers, new Set(desired.assignments.map((a) => assignmentKey(a.assignmentId, a.epoch))));
    } catch (err) {
      logger.warn({ err: describe(err) }, 'could not read container logs; trying again next report');
    }
    return logs.pending();
  }

  private async sign(assignment: DesiredAssignment, now: number): Promise<void> {
    const gpu = this.deps.gpus.find((g) => g.id === assignment.gpuId);
    if (!gpu) return;
    const telemetry = await gpu.readTelemetry(true);
    this.deps.chains.sign(assignment, 'running', telemetry, now);
  }

  /** Brings Docker to the desired state; serialised, so a wake-up and a tick never start one container twice. */
  private reconcile(): Promise<LeaseContainer[]> {
    this.reconciling = this.reconciling.catch(() => []).then(() => this.reconcileNow());
    return this.reconciling;
  }

  private async reconcileNow(): Promise<LeaseContainer[]> {
    const { runtime, logger } = this.deps;
    const containers = await runtime.listLeaseContainers();
    const desired = this.desired;
    // Until the API has said what to run, nothing is stopped: a restarted agent does not kill healthy work.
    if (desired === null) return containers;
    const plan = planReconcile(containers, desired.assignments, new Set(this.tried.keys()));
    for (const { container, reason } of plan.stop) {
      if (this.stopping.has(container.containerId)) continue;
      this.stopping.add(container.containerId);
      logger.info({ assignmentId: container.assignmentId, epoch: container.epoch, leaseId: container.leaseId, reason }, 'stopping container');
      // In the background: a 5 s graceful stop must not delay the next report.
      void runtime
        .stopAndRemove(container.containerId)
        .catch((err: unknown) => logger.error({ err: describe(err), containerId: container.containerId }, 'stop failed'))
        .finally(() => this.stopping.delete(container.containerId));
    }
    if (plan.start.length === 0) return containers;
    const wanted = desired.assignments.filter((a) => plan.start.some((s) => s.assignmentId === a.assignmentId && s.epoch === a.epoch));
    await Promise.all(wanted.map((a) => this.start(a)));
    return runtime.listLeaseContainers();
  }

  private async start(assignment: DesiredAssignment): Promise<void> {
    const { runtime, logger, hostId } = this.deps;
    const key = assignmentKey(assignment.assignmentId, assignment.epoch);
    this.tried.set(key, null);
    const gpu = this.deps.gpus.find((g) => g.id === assignment.gpuId);
    try {
      if (!gpu) throw new Error(`GPU ${assignment.gpuId} is not on host ${hostId}`);
      // No registry is assumed reachable from a provider's machine: a missing image stays missing.
      if (!(await runtime.imageExists(assignment.image))) throw new Error(`image ${assignment.image} is not present on host ${hostId}`);
      await runtime.createAndStart({
        leaseId: assignment.leaseId,
        assignmentId: assignment.assignmentId,
        epoch: assignment.epoch,
        gpuId: assignment.gpuId,
        image: assignment.image,
        command: assignment.command ?? undefined,
        env: {
          ...assignment.env,
          // Set last: a customer's env must not be able to fake its place in the cluster.
          LEASE_ID: assignment.leaseId,
          LEASE_RANK: String(assignment.rank),
          LEASE_WORLD_SIZE: String(assignment.worldSize),
          LEASE_HEAD_HOST: assignment.headHost,
          LEASE_EPOCH: String(assignment.epoch),
          LEASE_ASSIGNMENT_ID: assignment.assignmentId,
          LEASE_GPU_ID: assignment.gpuId,
        },
        gpuUuid: gpu.uuid,
      });
      logger.info({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, leaseId: assignment.leaseId }, 'container started');
    } catch (error) {
      const detail = describe(error).slice(0, 500);
      this.tried.set(key, detail);
      logger.warn({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, err: detail }, 'container did not start');
    }
  }

  private async onApiError(error: unknown, what: string, signal: AbortSignal): Promise<void> {
    if (error instanceof HostApiError && (error.status === 401 || error.status === 404)) {
      // The API no longer knows this host (its database was reset, or the host was removed): join again.
      this.deps.logger.warn({ err: describe(error) }, `${what}; registering again`);
      await this.deps.register(signal).catch((err: unknown) => {
        if (!signal.aborted) this.deps.logger.error({ err: describe(err) }, 'registration refused');
      });
    } else {
      this.deps.logger.warn({ err: describe(error) }, what);
    }
  }
}
