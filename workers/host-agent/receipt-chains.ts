/**
 * The host's side of the proof receipts (DESIGN §3): one hash chain per assignment, a receipt signed
 * every proof interval while its container runs, kept until the API accepts it. The API's tips are
 * the truth: a receipt it rejected, and everything signed after it, is dropped and the chain goes on
 * from the tip; while the API is away receipts pile up (bounded) and go out when it is back.
 */
import type { ContainerState, GpuTelemetry, ProofReceipt } from '../../domain/proof-receipt';
import { GENESIS_HASH, RECEIPT_VERSION, signReceipt, solveChallenge } from '../../domain/proof-receipt';
import { nativeEd25519 } from '../../infra/crypto/native-ed25519';

/** What a chain needs of its desired assignment. */
export interface ChainedAssignment {
  assignmentId: string;
  leaseId: string;
  epoch: number;
  gpuId: string;
  proofIntervalMs: number;
  period: number;
  challengeSeed: string;
  chainTip: { seq: number; hash: string; at: number } | null;
}

interface Chain {
  /** The last receipt the API accepted (null: none yet, the chain starts at GENESIS_HASH). */
  base: { seq: number; hash: string; at: number } | null;
  /** Signed after `base`, not acknowledged yet, in seq order. */
  pending: ProofReceipt[];
}

/** An hour of receipts at a 5 s interval; beyond that the oldest unacknowledged go (they could not be paid anyway). */
const MAX_PENDING = 720;

export class ReceiptChains {
  private readonly chains = new Map<string, Chain>();

  constructor(
    private readonly hostId: string,
    private readonly secretKey: Uint8Array,
    /** Unacknowledged receipts kept per chain at most. */
    private readonly maxPending = MAX_PENDING,
  ) {}

  /** The API's desired state says where a chain stands: adopt it when this agent has nothing newer (after a restart). */
  adopt(assignment: ChainedAssignment): void {
    const chain = this.chains.get(assignment.assignmentId);
    if (!chain) {
      this.chains.set(assignment.assignmentId, { base: assignment.chainTip, pending: [] });
      return;
    }
    const tip = assignment.chainTip;
    if (tip && (chain.base === null || tip.seq > chain.base.seq) && chain.pending.length === 0) chain.base = tip;
  }

  /** True when the assignment owes a receipt: none signed yet, or a proof interval since the last. */
  due(assignment: ChainedAssignment, now: number): boolean {
    const last = this.last(assignment.assignmentId);
    return last === null || now - last.at >= assignment.proofIntervalMs;
  }

  sign(assignment: ChainedAssignment, containerState: ContainerState, telemetry: GpuTelemetry, now: number): ProofReceipt {
    const chain = this.chainOf(assignment);
    const last = this.last(assignment.assignmentId);
    const seq = last === null ? 0 : last.seq + 1;
    const receipt = signReceipt(
      {
        version: RECEIPT_VERSION,
        leaseId: assignment.leaseId,
        assignmentId: assignment.assignmentId,
        epoch: assignment.epoch,
        hostId: this.hostId,
        gpuId: assignment.gpuId,
        seq,
        // The verifier refuses a receipt that is not strictly later than the one before it.
        at: Math.max(now, (last?.at ?? 0) + 1),
        period: assignment.period,
        containerState,
        telemetry,
        prevHash: last === null ? GENESIS_HASH : last.hash,
        challenge: { seed: assignment.challengeSeed, answer: solveChallenge(assignment.challengeSeed, seq) },
      },
      this.secretKey,
      nativeEd25519,
    );
    chain.pending.push(receipt);
    if (chain.pending.length > this.maxPending) chain.pending.shift();
    return receipt;
  }

  /** Unacknowledged receipts, oldest first, at most `limit` in all. */
  pending(limit: number): ProofReceipt[] {
    const all = [...this.chains.values()].flatMap((c) => c.pending);
    return all.sort((a, b) => a.body.at - b.body.at).slice(0, limit);
  }

  /** Applies the API's answer: tips move bases, rejections drop what was signed after the tip. */
  acknowledge(answer: { tips: { assignmentId: string; seq: number; hash: string }[]; rejected: { assignmentId: string }[] }): void {
    const rejected = new Set(answer.rejected.map((r) => r.assignmentId));
    for (const [assignmentId, chain] of this.chains) {
      const tip = answer.tips.find((t) => t.assignmentId === assignmentId);
      if (tip) {
        const own = chain.pending.find((r) => r.body.seq === tip.seq && r.hash === tip.hash);
        if (own) chain.base = { seq: tip.seq, hash: tip.hash, at: own.body.at };
        else if (!chain.base || chain.base.seq !== tip.seq || chain.base.hash !== tip.hash) {
          chain.base = { seq: tip.seq, hash: tip.hash, at: chain.base?.at ?? 0 };
        }
        chain.pending = chain.pending.filter((r) => r.body.seq > tip.seq);
      }
      // A receipt the API refused broke the chain there: nothing signed after it can be accepted.
      if (rejected.has(assignmentId)) chain.pending = [];
    }
  }

  /** Forgets assignments no longer desired. */
  retain(assignmentIds: ReadonlySet<string>): void {
    for (const id of [...this.chains.keys()]) if (!assignmentIds.has(id)) this.chains.delete(id);
  }

  private chainOf(assignment: ChainedAssignment): Chain {
    let chain = this.chains.get(assignment.assignmentId);
    if (!chain) {
      chain = { base: assignment.chainTip, pending: [] };
      this.chains.set(assignment.assignmentId, chain);
    }
    return chain;
  }

  private last(assignmentId: string): { seq: number; hash: string; at: number } | null {
    const chain = this.chains.get(assignmentId);
    if (!chain) return null;
    const receipt = chain.pending[chain.pending.length - 1];
    return receipt ? { seq: receipt.body.seq, hash: receipt.hash, at: receipt.body.at } : chain.base;
  }
}
