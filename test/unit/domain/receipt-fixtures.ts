/** Builds real signed receipt chains for the verifier tests (real keys, real hashes, real challenge answers). */
import { publicKeyOf } from '../../../domain/host-key';
import type { ChainTip, ProofReceipt, ProofReceiptBody, VerifyContext } from '../../../domain/proof-receipt';
import { GENESIS_HASH, RECEIPT_VERSION, signReceipt, solveChallenge } from '../../../domain/proof-receipt';

export const HOST_SECRET = new Uint8Array(32).fill(7);
export const OTHER_SECRET = new Uint8Array(32).fill(9);
export const HOST_PUBLIC = publicKeyOf(HOST_SECRET);

export const INTERVAL_MS = 5_000;
export const START_AT = 1_700_000_000_000;
export const SEED = 'seed-period-3';

const answers = new Map<string, string>();
/** Memoised so that building many chains in one file stays fast. */
export function answerFor(seed: string, seq: number): string {
  const key = `${seed}|${seq}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    answer = solveChallenge(seed, seq);
    answers.set(key, answer);
  }
  return answer;
}

export function context(overrides: Partial<VerifyContext> = {}): VerifyContext {
  return {
    publicKey: HOST_PUBLIC,
    leaseId: 'lease-1',
    assignmentId: 'asg-1',
    epoch: 2,
    hostId: 'host-1',
    gpuId: 'gpu-1',
    tip: null,
    challengeSeed: SEED,
    period: 3,
    proofIntervalMs: INTERVAL_MS,
    now: START_AT + 3_600_000,
    maxClockSkewMs: 2_000,
    notBefore: START_AT,
    // Watched since the chain's start: the cap on paid time does not bind unless a test sets it.
    watched: { firstArrivalAt: START_AT, payableMsSoFar: 0 },
    sample: () => true,
    ...overrides,
  };
}

export interface ChainOptions {
  /** Where the chain continues; null starts at seq 0 from GENESIS_HASH. */
  from?: ChainTip | null;
  count: number;
  /** Changes a body before it is hashed and signed (so later receipts still link to it). */
  edit?: (body: ProofReceiptBody) => Partial<ProofReceiptBody>;
  secretKey?: Uint8Array;
}

export function buildChain({ from = null, count, edit, secretKey = HOST_SECRET }: ChainOptions): ProofReceipt[] {
  const receipts: ProofReceipt[] = [];
  let prev = from;
  for (let i = 0; i < count; i++) {
    const seq = prev === null ? 0 : prev.seq + 1;
    const base: ProofReceiptBody = {
      version: RECEIPT_VERSION,
      leaseId: 'lease-1',
      assignmentId: 'asg-1',
      epoch: 2,
      hostId: 'host-1',
      gpuId: 'gpu-1',
      seq,
      at: prev === null ? START_AT : prev.at + INTERVAL_MS,
      period: 3,
      containerState: 'running',
      telemetry: {
        source: 'simulated',
        name: 'H100',
        utilizationPct: 97,
        memoryUsedMiB: 70_000,
        memoryTotalMiB: 81_559,
        temperatureC: 64,
        powerW: 640,
      },
      prevHash: prev === null ? GENESIS_HASH : prev.hash,
      challenge: { seed: SEED, answer: answerFor(SEED, seq) },
    };
    const body = { ...base, ...(edit?.(base) ?? {}) };
    const receipt = signReceipt(body, secretKey);
    receipts.push(receipt);
    prev = { seq: body.seq, hash: receipt.hash, at: body.at, containerState: body.containerState };
  }
  return receipts;
}

export function tipOf(receipt: ProofReceipt): ChainTip {
  const { seq, at, containerState } = receipt.body;
  return { seq, hash: receipt.hash, at, containerState };
}

export const seqs = (receipts: { receipt: ProofReceipt }[]): number[] => receipts.map((a) => a.receipt.body.seq);
