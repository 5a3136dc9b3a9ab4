/**
 * Assignments and receipt chains for tests of the host protocol: an assignment opened the way the
 * lease workflow opens it (assignments.repo openAssignments), and receipts signed with a real host key
 * the way a host agent signs them.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ReservedGpu } from '../../domain/lease';
import type { ProofReceipt, ProofReceiptBody } from '../../domain/proof-receipt';
import { GENESIS_HASH, RECEIPT_VERSION, signReceipt, solveChallenge } from '../../domain/proof-receipt';
import type { AssignmentsOpening } from '../../infra/db/repositories/assignments.repo';
import { openAssignments } from '../../infra/db/repositories/assignments.repo';
import type { AssignmentContainer, Database } from '../../infra/db/schema';

export interface TestAssignment {
  assignmentId: string;
  leaseId: string;
  hostId: string;
  gpuId: string;
  epoch: number;
}

export interface OpenOptions {
  assignmentId?: string;
  rank?: number;
  epoch?: number;
  period?: number;
  challengeSeed?: string;
  proofIntervalMs?: number;
  container?: Partial<AssignmentContainer>;
}

export function reservedGpu(gpuId: string, hostId: string, providerId: string): ReservedGpu {
  return { gpuId, hostId, providerId, tier: 1, model: 'H100', pricePerGpuHour: '2000000' };
}

export function openingOf(leaseId: string, gpu: ReservedGpu, opts: OpenOptions = {}): AssignmentsOpening {
  return {
    leaseId,
    assignments: [
      {
        assignmentId: opts.assignmentId ?? `asg-${randomUUID()}`,
        gpu,
        rank: opts.rank ?? 0,
        epoch: opts.epoch ?? 0,
        container: { image: 'lease-engine/busybox:local', worldSize: 1, headHost: gpu.hostId, ...opts.container },
      },
    ],
    proofIntervalMs: opts.proofIntervalMs ?? 1_000,
    period: opts.period ?? 1,
    challengeSeed: opts.challengeSeed ?? 'seed-1',
  };
}

/** Opens one assignment of `gpu` for the lease, as the workflow's openAssignments activity does. */
export async function openTestAssignment(db: Kysely<Database>, leaseId: string, gpu: ReservedGpu, opts: OpenOptions = {}): Promise<TestAssignment> {
  const opening = openingOf(leaseId, gpu, opts);
  await openAssignments(db, opening);
  const [a] = opening.assignments;
  return { assignmentId: a!.assignmentId, leaseId, hostId: gpu.hostId, gpuId: gpu.gpuId, epoch: a!.epoch };
}

export interface ChainOptions {
  count: number;
  /** Host clock of the first receipt, unix ms; later ones follow one `intervalMs` apart. */
  startAt: number;
  intervalMs?: number;
  period?: number;
  seed?: string;
  /** Continue after this receipt; from the genesis without. */
  prev?: ProofReceipt;
  containerState?: ProofReceiptBody['containerState'];
  /** Changes a body before it is hashed and signed (later receipts still link to it). */
  tamper?: (body: ProofReceiptBody) => void;
}

const answers = new Map<string, string>();
function answerFor(seed: string, seq: number): string {
  const key = `${seed}|${seq}`;
  let answer = answers.get(key);
  if (answer === undefined) answers.set(key, (answer = solveChallenge(seed, seq)));
  return answer;
}

/** `count` consecutive receipts of the assignment signed with `secretKey`. */
export function signChain(a: TestAssignment, secretKey: Uint8Array, opts: ChainOptions): ProofReceipt[] {
  const receipts: ProofReceipt[] = [];
  let prev = opts.prev;
  const seed = opts.seed ?? 'seed-1';
  for (let i = 0; i < opts.count; i++) {
    const seq = prev ? prev.body.seq + 1 : 0;
    const body: ProofReceiptBody = {
      version: RECEIPT_VERSION,
      leaseId: a.leaseId,
      assignmentId: a.assignmentId,
      epoch: a.epoch,
      hostId: a.hostId,
      gpuId: a.gpuId,
      seq,
      at: opts.startAt + i * (opts.intervalMs ?? 1_000),
      period: opts.period ?? 1,
      containerState: opts.containerState ?? 'running',
      telemetry: { source: 'simulated', name: 'H100', utilizationPct: 97, memoryUsedMiB: 4096, memoryTotalMiB: 81_559, temperatureC: 61, powerW: 412 },
      prevHash: prev ? prev.hash : GENESIS_HASH,
      challenge: { seed, answer: answerFor(seed, seq) },
    };
    opts.tamper?.(body);
    const receipt = signReceipt(body, secretKey);
    receipts.push(receipt);
    prev = receipt;
  }
  return receipts;
}
