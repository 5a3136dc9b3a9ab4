/**
 * Proof-of-work receipts (DESIGN §3): what a host agent signs every proof interval for each
 * assignment it runs. Receipts of one assignment form a hash chain; nothing is paid for a second
 * that consecutive valid receipts do not cover.
 *
 * Contract shared by the host agent (signs), the lease workflow (carries) and the control worker (verifies).
 */

import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonical-json';
import { nobleEd25519, type SignatureScheme } from './host-key';

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

/**
 * The receipt format's version. 2: the challenge is 100 sha256 iterations (1 had 2,000). Hashing was
 * never the proof (milliseconds of CPU say nothing about a GPU); the answer proves the receipt was made
 * after its period's seed was published. 2,000 iterations cost the verifier 1.7 ms per receipt on average
 * (a quarter sampled) inside the chain's transaction, and 1,000 simulated hosts 1.4 CPU-s every second.
 */
export const RECEIPT_VERSION = 2;

export interface ProofReceiptBody {
  version: typeof RECEIPT_VERSION;
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
  /**
   * State reported by that receipt: the gap after it is paid only if it said 'running'. Optional for
   * backward compatibility; a tip without it pays nothing for the first gap of the next batch.
   */
  containerState?: ContainerState;
}

/** Iterations of the challenge kernel: a third of a millisecond of hashing per receipt, cheap to spot-check. */
export const CHALLENGE_ITERATIONS = 100;

export function canonicalEncode(body: ProofReceiptBody): Uint8Array {
  return utf8ToBytes(canonicalJson(body));
}

export function hashReceiptBody(body: ProofReceiptBody): string {
  return bytesToHex(sha256(canonicalEncode(body)));
}

/** Signs the 32 hash bytes (not the hex text), so any ed25519 tool can check a receipt from its hash. */
export function signReceipt(body: ProofReceiptBody, secretKey: Uint8Array, scheme: SignatureScheme = nobleEd25519): ProofReceipt {
  const hash = hashReceiptBody(body);
  return { body, hash, signature: scheme.sign(hexToBytes(hash), secretKey) };
}

/**
 * The period's challenge: iterated sha256 seeded by the workflow's per-period seed and the receipt's
 * seq, so an answer cannot be precomputed before the period starts nor copied between receipts.
 */
export function solveChallenge(seed: string, seq: number): string {
  let digest = sha256(utf8ToBytes(`${seed}|${seq}`));
  for (let i = 1; i < CHALLENGE_ITERATIONS; i++) digest = sha256(digest);
  return bytesToHex(digest);
}

export interface VerifyContext {
  /** base58 ed25519 public key registered for the host. */
  publicKey: string;
  leaseId: string;
  assignmentId: string;
  epoch: number;
  hostId: string;
  gpuId: string;
  /** Last receipt already verified for this assignment, null when none was. */
  tip: ChainTip | null;
  /** The period the assignment's receipts answer now, and its challenge seed. */
  challengeSeed: string;
  period: number;
  /**
   * The period before, still accepted: a host signs with the challenge it last saw, and the new one
   * reaches it a long poll later. Null when there was none.
   */
  previousChallenge?: { period: number; seed: string } | null;
  proofIntervalMs: number;
  /** Verifier clock when the receipts arrived, unix ms: no receipt may be dated after it (beyond the skew). */
  now: number;
  maxClockSkewMs: number;
  /** Unix ms the assignment was dispatched: no receipt may be dated before it (beyond the skew). */
  notBefore: number;
  /**
   * What the engine has watched of this assignment: when its first accepted receipt arrived (null
   * before any did) and the payable time already granted. Payable time never exceeds now - firstArrivalAt.
   */
  watched: { firstArrivalAt: number | null; payableMsSoFar: number };
  /** Whether to recompute this receipt's challenge answer (a random sample keeps verification cheap). */
  sample: (seq: number) => boolean;
  /** Checks the signatures; the reference implementation when absent. */
  signatures?: SignatureScheme;
}

export interface BatchVerification {
  accepted: { receipt: ProofReceipt; payableMs: number }[];
  rejected: { seq: number; reason: string }[];
  /** Where the chain now ends: the last accepted receipt, or the given tip when none was accepted. */
  tip: ChainTip | null;
  payableMs: number;
}

/**
 * Verifies one assignment's receipts against the chain so far. This is where "no second is paid
 * without consecutive valid receipts" holds: the first invalid receipt breaks the chain and nothing
 * after it is accepted, and only the time between two accepted receipts close enough together, both
 * reporting a running container, is payable.
 */
export function verifyReceiptBatch(receipts: ProofReceipt[], ctx: VerifyContext): BatchVerification {
  const accepted: BatchVerification['accepted'] = [];
  const rejected: BatchVerification['rejected'] = [];
  const ordered: ProofReceipt[] = [];
  for (const receipt of receipts) {
    const seq = (receipt as { body?: { seq?: unknown } } | null)?.body?.seq;
    // Without a seq a receipt has no place in the chain: refuse it alone.
    if (!isCount(seq)) rejected.push({ seq: -1, reason: 'receipt without a valid seq' });
    else if (ctx.tip === null || seq > ctx.tip.seq) ordered.push(receipt);
    // else: a retry resent a receipt that was verified before; skipping keeps verification idempotent.
  }
  ordered.sort((a, b) => a.body.seq - b.body.seq);

  let tip = ctx.tip;
  let brokenAt: number | null = null;
  // However the host dates its receipts, it is paid no more time than the engine saw pass.
  let watchLeft = Math.max(0, ctx.now - (ctx.watched.firstArrivalAt ?? ctx.now) - ctx.watched.payableMsSoFar);
  for (const receipt of ordered) {
    const { seq } = receipt.body;
    if (brokenAt !== null) {
      rejected.push({ seq, reason: `seq ${seq}: after broken chain at seq ${brokenAt}` });
      continue;
    }
    if (tip !== null && seq <= tip.seq) {
      const same = accepted.find((a) => a.receipt.body.seq === seq)?.receipt.hash === receipt.hash;
      if (same) continue;
      brokenAt = seq;
      rejected.push({ seq, reason: `seq ${seq}: conflicting duplicate of an accepted receipt` });
      continue;
    }
    const problem = checkReceipt(receipt, tip, ctx);
    if (problem !== null) {
      brokenAt = seq;
      rejected.push({ seq, reason: `seq ${seq}: ${problem}` });
      continue;
    }
    const { at, containerState } = receipt.body;
    // Seq 0 anchors the chain and pays nothing; after that, the gap since the previous receipt pays.
    const gap = tip === null ? 0 : at - tip.at;
    const paid = tip?.containerState === 'running' && containerState === 'running' && gap <= 2 * ctx.proofIntervalMs;
    const payableMs = paid ? Math.min(gap, watchLeft) : 0;
    watchLeft -= payableMs;
    accepted.push({ receipt, payableMs });
    tip = { seq, hash: receipt.hash, at, containerState };
  }
  return { accepted, rejected, tip, payableMs: accepted.reduce((sum, a) => sum + a.payableMs, 0) };
}

export function payableSecondsOf(totalPayableMs: number): number {
  return Math.floor(totalPayableMs / 1000);
}

/** The rule a receipt breaks, or null when it continues the chain from `prev` validly. */
function checkReceipt(receipt: ProofReceipt, prev: ChainTip | null, ctx: VerifyContext): string | null {
  const shape = malformation(receipt);
  if (shape !== null) return `malformed receipt (${shape})`;
  const { body } = receipt;
  const expectedSeq = prev === null ? 0 : prev.seq + 1;
  if (body.seq !== expectedSeq) return `skipped seq (expected ${expectedSeq})`;
  if (body.prevHash !== (prev === null ? GENESIS_HASH : prev.hash)) return 'prevHash does not match the previous receipt';
  for (const field of ['leaseId', 'assignmentId', 'hostId', 'gpuId', 'epoch'] as const) {
    if (body[field] !== ctx[field]) return `wrong ${field} ${show(body[field])} (expected ${show(ctx[field])})`;
  }
  const challenge = challengeOf(body.period, ctx);
  if (challenge === null) return `wrong period ${show(body.period)} (expected ${ctx.period})`;
  if (body.challenge.seed !== challenge) return 'wrong challenge seed';
  if (prev !== null && body.at <= prev.at) return `time went backwards (at ${body.at} <= previous ${prev.at})`;
  if (body.at > ctx.now + ctx.maxClockSkewMs) return `time in the future (at ${body.at}, now ${ctx.now})`;
  if (body.at < ctx.notBefore - ctx.maxClockSkewMs) return `dated before the assignment started (at ${body.at}, started ${ctx.notBefore})`;
  if (hashReceiptBody(body) !== receipt.hash) return 'hash does not match body';
  if (!(ctx.signatures ?? nobleEd25519).verify(hexToBytes(receipt.hash), receipt.signature, ctx.publicKey)) return 'bad signature';
  if (ctx.sample(body.seq) && solveChallenge(challenge, body.seq) !== body.challenge.answer) {
    return 'wrong challenge answer';
  }
  return null;
}

/** The seed a receipt of `period` must answer: the current period's or the one before it. */
function challengeOf(period: number, ctx: VerifyContext): string | null {
  if (period === ctx.period) return ctx.challengeSeed;
  if (ctx.previousChallenge && period === ctx.previousChallenge.period) return ctx.previousChallenge.seed;
  return null;
}

const HEX_64 = /^[0-9a-f]{64}$/;
const CONTAINER_STATES: readonly string[] = ['running', 'exited', 'missing'];

/** Receipts arrive from untrusted hosts as JSON: name the first field that does not have its type. */
function malformation(receipt: ProofReceipt): string | null {
  const r = receipt as unknown as Record<string, unknown>;
  const body = r.body as Record<string, unknown>;
  const telemetry = body.telemetry as Record<string, unknown> | null | undefined;
  const challenge = body.challenge as Record<string, unknown> | null | undefined;
  const checks: [string, boolean][] = [
    ['hash', typeof r.hash === 'string' && HEX_64.test(r.hash)],
    ['signature', typeof r.signature === 'string'],
    ['version', body.version === RECEIPT_VERSION],
    ['at', Number.isSafeInteger(body.at)],
    ['epoch', isCount(body.epoch)],
    ['period', isCount(body.period)],
    ['containerState', CONTAINER_STATES.includes(body.containerState as string)],
    ['prevHash', typeof body.prevHash === 'string' && HEX_64.test(body.prevHash)],
    ['challenge', typeof challenge?.seed === 'string' && typeof challenge.answer === 'string'],
    ['telemetry', isTelemetry(telemetry)],
  ];
  return checks.find(([, ok]) => !ok)?.[0] ?? null;
}

function isTelemetry(t: Record<string, unknown> | null | undefined): boolean {
  if (typeof t !== 'object' || t === null) return false;
  const numbers = ['utilizationPct', 'memoryUsedMiB', 'memoryTotalMiB', 'temperatureC', 'powerW'];
  return (
    (t.source === 'nvidia-smi' || t.source === 'simulated') &&
    typeof t.name === 'string' &&
    numbers.every((key) => Number.isFinite(t[key]))
  );
}

/** Host-supplied values go into operator-facing reasons: quote them and keep them short. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
