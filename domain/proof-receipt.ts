/**
 * Proof-of-work receipts (DESIGN §3): what a host agent signs every proof interval for each
 * assignment it runs. Receipts of one assignment form a hash chain; nothing is paid for a second
 * that consecutive valid receipts do not cover.
 *
 * Contract shared by the host agent (signs), the lease workflow (carries) and the control worker (verifies).
 */

/** GPU readings at receipt time. `source: 'simulated'` on hosts without a physical GPU, and it says so. */
export interface GpuTelemetry {
  source: 'nvidia-smi' | 'simulated';
  /** GPU name as the driver reports it (e.g. "NVIDIA H100 80GB HBM3"), or the declared model when simulated. */
  name: string;
  utilizationPct: number;
  memoryUsedMiB: number;
  memoryTotalMiB: number;
  temperatureC: number;
  powerW: number;
}

export type ContainerState = 'running' | 'exited' | 'missing';

export interface ProofReceiptBody {
  version: 1;
  leaseId: string;
  assignmentId: string;
  epoch: number;
  hostId: string;
  gpuId: string;
  /** 0 for the first receipt of the assignment, then +1 each receipt, across settlement periods. */
  seq: number;
  /** Host clock, unix milliseconds. */
  at: number;
  /** Settlement period whose challenge this receipt answers. */
  period: number;
  containerState: ContainerState;
  telemetry: GpuTelemetry;
  /** Hex sha256 hash of the previous receipt of this assignment; GENESIS_HASH for seq 0. */
  prevHash: string;
  /** The period's challenge seed (set by the workflow) and this receipt's answer to it. */
  challenge: { seed: string; answer: string };
}

export interface ProofReceipt {
  body: ProofReceiptBody;
  /** Hex sha256 of the canonical encoding of `body`. */
  hash: string;
  /** Hex ed25519 signature by the host key over the 32 hash bytes. */
  signature: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The last verified receipt of an assignment: where the next batch must continue the chain. */
export interface ChainTip {
  seq: number;
  hash: string;
  at: number;
}
