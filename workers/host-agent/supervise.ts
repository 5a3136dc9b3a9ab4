/**
 * superviseAssignment: watches one assignment's container for one settlement period and signs a
 * proof receipt every proof interval (DESIGN §3). Everything proven so far travels in every heartbeat,
 * so the workflow still gets it when this host dies mid-period (the failure's last heartbeat details)
 * or when it cancels the call (the CancelledFailure's details).
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { SuperviseHeartbeat, SuperviseInput, SuperviseResult } from '../../activities/contracts';
import type { ContainerState, ProofReceipt } from '../../domain/proof-receipt';
import { GENESIS_HASH, signReceipt, solveChallenge } from '../../domain/proof-receipt';
import type { DockerRuntime } from './docker-runtime';
import type { HostGpu } from './host-gpu';

export interface SuperviseDeps {
  hostId: string;
  runtime: DockerRuntime;
  gpu: HostGpu;
  secretKey: Uint8Array;
  defaultProofIntervalMs: number;
  tickMs?: number;
}

export async function superviseAssignment(deps: SuperviseDeps, input: SuperviseInput): Promise<SuperviseResult> {
  const context = Context.current();
  const tickMs = deps.tickMs ?? 1_000;
  const intervalMs = input.proofIntervalMs > 0 ? input.proofIntervalMs : deps.defaultProofIntervalMs;
  const receipts = resumedReceipts(input, context.info.heartbeatDetails);
  const heartbeat = () => context.heartbeat({ receipts } satisfies SuperviseHeartbeat);

  const found = await deps.runtime.findContainer(input.assignmentId, input.epoch);
  let status = found ?? { containerId: '', state: 'missing' as const, startedAt: 0 };
  const inspect = async () => {
    if (status.state !== 'missing') status = await deps.runtime.inspect(status.containerId);
    return status;
  };
  const sign = async (containerState: ContainerState): Promise<ProofReceipt> => {
    const receipt = await signNext(deps, input, receipts, containerState);
    receipts.push(receipt);
    heartbeat();
    return receipt;
  };
  const ended = (): SuperviseResult => ({ receipts, containerState: status.state, exitCode: status.exitCode });

  try {
    await sign((await inspect()).state);
    // Past `until` already (a late retry): the first receipt is also the period's last.
    if (status.state !== 'running' || Date.now() >= input.until) return ended();
    for (;;) {
      const last = receipts[receipts.length - 1] as ProofReceipt;
      const target = Math.min(last.body.at + intervalMs, input.until);
      while (Date.now() < target) {
        // Context.sleep rejects as soon as a cancellation reaches us (it comes with a heartbeat response).
        await context.sleep(Math.min(tickMs, target - Date.now()));
        heartbeat();
        if ((await inspect()).state !== 'running') {
          await sign(status.state);
          return ended();
        }
      }
      await sign('running');
      if (target >= input.until) return ended();
    }
  } catch (error) {
    if (!context.cancellationSignal.aborted) throw error;
    // Cancelled (lease closing, worker shutting down): prove up to now, then hand over what was proven.
    await sign((await inspect()).state).catch(() => undefined);
    throw new CancelledFailure('cancelled', [{ receipts } satisfies SuperviseHeartbeat]);
  }
}

async function signNext(
  deps: SuperviseDeps,
  input: SuperviseInput,
  receipts: ProofReceipt[],
  containerState: ContainerState,
): Promise<ProofReceipt> {
  const previous = receipts[receipts.length - 1];
  const seq = previous ? previous.body.seq + 1 : input.chainTip ? input.chainTip.seq + 1 : 0;
  const prevHash = previous ? previous.hash : input.chainTip ? input.chainTip.hash : GENESIS_HASH;
  const telemetry = await deps.gpu.readTelemetry(containerState === 'running');
  // The verifier refuses a receipt that is not strictly later than the one before it.
  const at = Math.max(Date.now(), previous ? previous.body.at + 1 : 0);
  return signReceipt(
    {
      version: 1,
      leaseId: input.leaseId,
      assignmentId: input.assignmentId,
      epoch: input.epoch,
      hostId: deps.hostId,
      gpuId: input.gpuId,
      seq,
      at,
      period: input.period,
      containerState,
      telemetry,
      prevHash,
      challenge: { seed: input.challengeSeed, answer: solveChallenge(input.challengeSeed, seq) },
    },
    deps.secretKey,
  );
}

/**
 * A retried attempt carries on after the receipts its predecessor heartbeated, so the chain has no
 * fork and the workflow gets them all in one result. Anything that does not continue this input's
 * chain exactly is ignored rather than trusted.
 */
export function resumedReceipts(input: SuperviseInput, details: unknown): ProofReceipt[] {
  const previous = (details as Partial<SuperviseHeartbeat> | null | undefined)?.receipts;
  if (!Array.isArray(previous)) return [];
  let seq = input.chainTip ? input.chainTip.seq + 1 : 0;
  let hash = input.chainTip ? input.chainTip.hash : GENESIS_HASH;
  const kept: ProofReceipt[] = [];
  for (const receipt of previous as ProofReceipt[]) {
    const body = receipt?.body;
    const continues =
      body?.seq === seq &&
      body.prevHash === hash &&
      body.assignmentId === input.assignmentId &&
      body.epoch === input.epoch &&
      body.period === input.period &&
      body.containerState === 'running';
    if (!continues) break;
    kept.push(receipt);
    seq += 1;
    hash = receipt.hash;
  }
  return kept;
}
