/**
 * A scripted hostile host for tests of the host protocol (DESIGN §3, §8): a real ed25519 key registered
 * through the public API with its provider's key, a loop that polls its desired state and reports, and
 * raw signed requests a test shapes as it likes. It runs no container: what it says about its
 * containers is whatever the test wants (`lying`: every desired container is running, stopped ones too
 * when `lieAboutStopped`; `silent`: nothing about any container), and its receipts are signed honestly
 * by `ReceiptChains` (`honest`) or forged by the test (`forge`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostKey } from '../../domain/host-key';
import { generateHostKey } from '../../domain/host-key';
import type { ContainerState, GpuTelemetry, ProofReceipt, ProofReceiptBody } from '../../domain/proof-receipt';
import { GENESIS_HASH, RECEIPT_VERSION, signReceipt, solveChallenge } from '../../domain/proof-receipt';
import { HOST_SIGNATURE_HEADERS, signRequest } from '../../domain/signed-request';
import type { DesiredAssignment, DesiredState, HostReport, ReportAnswer } from '../../workers/host-agent/api-client';
import { HostApiClient } from '../../workers/host-agent/api-client';
import { ReceiptChains } from '../../workers/host-agent/receipt-chains';

export type HostileMode = 'lying' | 'honest' | 'silent';

export interface HostileGpu {
  id: string;
  model: string;
  pricePerGpuHour: string;
}

/** A request exactly as sent: resending it replays the same bytes under the same signature. */
export interface SentRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON answers field by field
  body: any;
  sent: SentRequest;
}

export interface SignOptions {
  /** Unix ms to sign and send as the timestamp (default: now). */
  timestamp?: number;
  /** The key that signs (default: the host's own). */
  key?: HostKey;
  /** The x-host-id header (default: the host's id). */
  hostIdHeader?: string;
  /** Sends no signature headers at all. */
  unsigned?: boolean;
}

export const SIMULATED_TELEMETRY: GpuTelemetry = {
  source: 'simulated', name: 'A100', utilizationPct: 97, memoryUsedMiB: 61_000, memoryTotalMiB: 81_920, temperatureC: 64, powerW: 310,
};

export class HostileHost {
  mode: HostileMode = 'lying';
  /** With `lying` or `honest`: also claims containers the API wants stopped are running, and signs receipts for them. */
  lieAboutStopped = false;
  /** The desired state the loop saw last. */
  desired: DesiredState | null = null;
  /** Every answer the loop got to its reports, oldest first. */
  readonly answers: ReportAnswer[] = [];
  private readonly chains: ReceiptChains;
  private readonly client: HostApiClient;
  private stopped = true;
  private tick: Promise<void> = Promise.resolve();
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    readonly apiUrl: string,
    readonly hostId: string,
    readonly key: HostKey,
    providerKey: string,
  ) {
    this.chains = new ReceiptChains(hostId, key.secretKey);
    this.client = new HostApiClient({ apiUrl, hostId, secretKey: key.secretKey, providerKey });
  }

  /** Registers a new host through `POST /v1/hosts/register`, signed by its own fresh key. */
  static async register(apiUrl: string, hostId: string, providerKey: string, gpus: HostileGpu[]): Promise<HostileHost> {
    const host = new HostileHost(apiUrl, hostId, generateHostKey(), providerKey);
    await host.client.register({
      hostId, publicKey: host.key.publicKey, gpuSource: 'simulated', gpus: gpus.map((gpu) => ({ ...gpu, vramGb: 80 })),
    });
    return host;
  }

  /** Starts polling and reporting every `intervalMs`, which keeps the host online. */
  start(intervalMs = 500): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        this.tick = this.reportOnce().catch(() => undefined);
        await this.tick;
        await sleep(intervalMs);
      }
    })();
  }

  /** Stops reporting: the host goes silent (and is lost after the heartbeat timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Switches mode; resolves once no report of the old mode is in flight. */
  async setMode(mode: HostileMode): Promise<void> {
    this.mode = mode;
    await this.tick;
  }

  /** Its live assignment of `leaseId` as its desired state says (state 'run'). */
  async assignmentOf(leaseId: string): Promise<DesiredAssignment> {
    const state = await this.client.desired(0, 0);
    const found = state.assignments.find((a) => a.leaseId === leaseId && a.state === 'run');
    if (!found) throw new Error(`host ${this.hostId} has no live assignment of lease ${leaseId}`);
    return found;
  }

  /** A receipt signed by this host (or `signer`), for any assignment, with any field overridden. */
  forge(
    assignment: Pick<DesiredAssignment, 'assignmentId' | 'leaseId' | 'epoch' | 'gpuId' | 'period' | 'challengeSeed'>,
    link: { seq: number; at: number; prevHash: string; containerState?: ContainerState },
    overrides: Partial<ProofReceiptBody> = {},
    signer: HostKey = this.key,
  ): ProofReceipt {
    return signReceipt(
      {
        version: RECEIPT_VERSION,
        leaseId: assignment.leaseId,
        assignmentId: assignment.assignmentId,
        epoch: assignment.epoch,
        hostId: this.hostId,
        gpuId: assignment.gpuId,
        seq: link.seq,
        at: link.at,
        period: assignment.period,
        containerState: link.containerState ?? 'running',
        telemetry: SIMULATED_TELEMETRY,
        prevHash: link.prevHash,
        ...overrides,
        challenge: overrides.challenge ?? { seed: assignment.challengeSeed, answer: solveChallenge(assignment.challengeSeed, link.seq) },
      },
      signer.secretKey,
    );
  }

  /**
   * A chain of receipts dated `ats`, continuing from `from` (null: from genesis). Challenges are solved
   * for the first `solved` receipts only, the rest carry a well-formed wrong answer: the engine shares
   * this process, and solving thousands would stall it. Yields between receipts for the same reason.
   */
  async forgeChain(
    assignment: DesiredAssignment,
    from: { seq: number; hash: string } | null,
    ats: number[],
    solved = Number.POSITIVE_INFINITY,
  ): Promise<ProofReceipt[]> {
    const chain: ProofReceipt[] = [];
    let prev = from ?? { seq: -1, hash: GENESIS_HASH };
    for (const [index, at] of ats.entries()) {
      const seq = prev.seq + 1;
      const unsolved = index >= solved ? { challenge: { seed: assignment.challengeSeed, answer: 'f'.repeat(64) } } : {};
      const receipt = this.forge(assignment, { seq, at, prevHash: prev.hash }, unsolved);
      chain.push(receipt);
      prev = { seq, hash: receipt.hash };
      if (index % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
    return chain;
  }

  /** POSTs a report (any JSON, or raw text) to its own reports route. */
  report(report: unknown, options: SignOptions = {}): Promise<Answer> {
    return this.send('POST', `/v1/hosts/${this.hostId}/reports`, typeof report === 'string' ? report : JSON.stringify(report), options);
  }

  /** A signed request, shaped by `options`; a 429 is waited out and the request signed and sent again. */
  async send(method: 'GET' | 'POST', path: string, body?: string, options: SignOptions = {}): Promise<Answer> {
    for (;;) {
      const answer = await this.resend(this.sign(method, path, body, options));
      if (answer.status !== 429) return answer;
      await sleep(1_000);
    }
  }

  sign(method: 'GET' | 'POST', path: string, body: string | undefined, options: SignOptions = {}): SentRequest {
    const timestamp = String(options.timestamp ?? Date.now());
    const signature = signRequest({ method, path, timestamp, body: body ?? '' }, (options.key ?? this.key).secretKey);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (!options.unsigned) {
      headers[HOST_SIGNATURE_HEADERS.hostId] = options.hostIdHeader ?? this.hostId;
      headers[HOST_SIGNATURE_HEADERS.timestamp] = timestamp;
      headers[HOST_SIGNATURE_HEADERS.signature] = signature;
    }
    return { method, path, headers, body };
  }

  /** Sends `sent` again, byte for byte. */
  async resend(sent: SentRequest): Promise<Answer> {
    const response = await fetch(`${this.apiUrl}${sent.path}`, { method: sent.method, headers: sent.headers, body: sent.body });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the text itself
    }
    return { status: response.status, body, sent };
  }

  private async reportOnce(): Promise<void> {
    const state = await this.client.desired(0, 0);
    this.desired = state;
    const claimed = state.assignments.filter((a) => a.state === 'run' || this.lieAboutStopped);
    const report: HostReport = { containers: [], receipts: [] };
    if (this.mode !== 'silent') {
      const now = Date.now();
      for (const assignment of claimed) {
        report.containers.push({ assignmentId: assignment.assignmentId, epoch: assignment.epoch, state: 'running' });
        if (this.mode !== 'honest') continue;
        this.chains.adopt(assignment);
        if (this.chains.due(assignment, now)) this.chains.sign(assignment, 'running', SIMULATED_TELEMETRY, now);
      }
      if (this.mode === 'honest') report.receipts = this.chains.pending(128);
    }
    const answer = await this.client.report(report);
    this.chains.acknowledge(answer);
    this.answers.push(answer);
  }
}
