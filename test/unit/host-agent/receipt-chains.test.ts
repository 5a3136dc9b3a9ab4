import { generateHostKey } from '../../../domain/host-key';
import type { ChainTip, GpuTelemetry, ProofReceipt, VerifyContext } from '../../../domain/proof-receipt';
import { GENESIS_HASH, verifyReceiptBatch } from '../../../domain/proof-receipt';
import type { ReportAnswer } from '../../../workers/host-agent/api-client';
import type { ChainedAssignment } from '../../../workers/host-agent/receipt-chains';
import { ReceiptChains } from '../../../workers/host-agent/receipt-chains';

const KEY = generateHostKey();
const HOST = 'host-1';
const INTERVAL = 1_000;
const START = 1_800_000_000_000;

const TELEMETRY: GpuTelemetry = {
  source: 'simulated',
  name: 'H100',
  utilizationPct: 90,
  memoryUsedMiB: 1_000,
  memoryTotalMiB: 81_559,
  temperatureC: 60,
  powerW: 500,
};

function assignment(overrides: Partial<ChainedAssignment> = {}): ChainedAssignment {
  return {
    assignmentId: 'asg-1',
    leaseId: 'lease-1',
    epoch: 1,
    gpuId: 'gpu-1',
    proofIntervalMs: INTERVAL,
    period: 1,
    challengeSeed: 'seed-1',
    chainTip: null,
    ...overrides,
  };
}

/** What the API checks a report against, as its database would hold it. */
function apiContext(tip: ChainTip | null, now: number, overrides: Partial<VerifyContext> = {}): VerifyContext {
  return {
    publicKey: KEY.publicKey,
    leaseId: 'lease-1',
    assignmentId: 'asg-1',
    epoch: 1,
    hostId: HOST,
    gpuId: 'gpu-1',
    tip,
    challengeSeed: 'seed-1',
    period: 1,
    previousChallenge: null,
    proofIntervalMs: INTERVAL,
    now,
    maxClockSkewMs: 1_000,
    notBefore: START,
    watched: { firstArrivalAt: START, payableMsSoFar: 0 },
    sample: () => true,
    ...overrides,
  };
}

/** Signs `count` receipts of a running container, one per interval from `from`. */
function signEvery(chains: ReceiptChains, a: ChainedAssignment, from: number, count: number): ProofReceipt[] {
  return Array.from({ length: count }, (_, i) => chains.sign(a, 'running', TELEMETRY, from + i * INTERVAL));
}

const tipOf = (r: ProofReceipt): ChainTip => ({ seq: r.body.seq, hash: r.hash, at: r.body.at, containerState: r.body.containerState });
/** The API's answer to a report, as api-client parses it. */
const answer = (tips: ReportAnswer['tips'], rejected: ReportAnswer['rejected'] = []): ReportAnswer => ({
  accepted: tips.length,
  tips,
  rejected,
});
const answerAccepting = (r: ProofReceipt, rejected: ReportAnswer['rejected'] = []) =>
  answer([{ assignmentId: r.body.assignmentId, seq: r.body.seq, hash: r.hash }], rejected);

describe('ReceiptChains', () => {
  it('signs a chain the API verifier accepts in full, paying each interval after the first', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const receipts = signEvery(chains, assignment(), START, 5);
    expect(receipts[0]!.body).toMatchObject({ seq: 0, prevHash: GENESIS_HASH, hostId: HOST, period: 1 });
    const result = verifyReceiptBatch(receipts, apiContext(null, START + 5 * INTERVAL));
    expect(result.rejected).toEqual([]);
    expect(result.accepted.map((a) => a.receipt.body.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(result.payableMs).toBe(4 * INTERVAL);
  });

  it('is not verified under another key', () => {
    const chains = new ReceiptChains(HOST, generateHostKey().secretKey);
    const result = verifyReceiptBatch(signEvery(chains, assignment(), START, 2), apiContext(null, START + 2 * INTERVAL));
    expect(result.rejected[0]?.reason).toBe('seq 0: bad signature');
  });

  it('dates each receipt strictly after the one before, even when the clock does not move', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const first = chains.sign(assignment(), 'running', TELEMETRY, START);
    const second = chains.sign(assignment(), 'running', TELEMETRY, START);
    expect(second.body.at).toBe(first.body.at + 1);
    expect(verifyReceiptBatch([first, second], apiContext(null, START + INTERVAL)).rejected).toEqual([]);
  });

  it('is due at once for a new chain, then once per proof interval since the last receipt', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const a = assignment();
    expect(chains.due(a, START)).toBe(true);
    chains.sign(a, 'running', TELEMETRY, START);
    expect(chains.due(a, START + INTERVAL - 1)).toBe(false);
    expect(chains.due(a, START + INTERVAL)).toBe(true);
    expect(chains.due(assignment({ proofIntervalMs: 3 * INTERVAL }), START + 2 * INTERVAL)).toBe(false);
    // Each chain on its own: another assignment has signed nothing yet.
    expect(chains.due(assignment({ assignmentId: 'asg-2' }), START)).toBe(true);
  });

  it('keeps receipts until acknowledged, then drops them and continues from the acknowledged tip', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const a = assignment();
    const first = signEvery(chains, a, START, 3);
    expect(chains.pending(100)).toEqual(first);
    // Not acknowledged (the API was away): sent again in the next report.
    expect(chains.pending(100)).toEqual(first);

    chains.acknowledge(answerAccepting(first[1]!));
    expect(chains.pending(100)).toEqual([first[2]]);
    chains.acknowledge(answerAccepting(first[2]!));
    expect(chains.pending(100)).toEqual([]);

    const next = chains.sign(a, 'running', TELEMETRY, START + 3 * INTERVAL);
    expect(next.body).toMatchObject({ seq: 3, prevHash: first[2]!.hash });
    const verified = verifyReceiptBatch([next], apiContext(tipOf(first[2]!), START + 4 * INTERVAL));
    expect(verified.rejected).toEqual([]);
    expect(verified.payableMs).toBe(INTERVAL);
  });

  it('hands out at most `limit` pending receipts, oldest first across chains', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const one = chains.sign(assignment(), 'running', TELEMETRY, START);
    const two = chains.sign(assignment({ assignmentId: 'asg-2' }), 'running', TELEMETRY, START + 10);
    const three = chains.sign(assignment(), 'running', TELEMETRY, START + INTERVAL);
    expect(chains.pending(2)).toEqual([one, two]);
    expect(chains.pending(10)).toEqual([one, two, three]);
  });

  it('after a rejection drops everything pending and continues from the tip the API gave', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const a = assignment();
    const signed = signEvery(chains, a, START, 5);
    // The API accepted up to seq 1 and refused seq 2 (and so everything after it).
    chains.acknowledge(answerAccepting(signed[1]!, [
      { assignmentId: 'asg-1', seq: 2, reason: 'seq 2: wrong challenge answer' },
      { assignmentId: 'asg-1', seq: 3, reason: 'seq 3: after broken chain at seq 2' },
    ]));
    expect(chains.pending(100)).toEqual([]);

    const next = chains.sign(a, 'running', TELEMETRY, START + 5 * INTERVAL);
    expect(next.body).toMatchObject({ seq: 2, prevHash: signed[1]!.hash });
    const verified = verifyReceiptBatch([next], apiContext(tipOf(signed[1]!), START + 6 * INTERVAL));
    expect(verified.rejected).toEqual([]);
    expect(verified.accepted).toHaveLength(1);
  });

  it('after a rejection of its first receipt starts again from the genesis', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const a = assignment();
    signEvery(chains, a, START, 2);
    chains.acknowledge(answer([], [{ assignmentId: 'asg-1', seq: 0, reason: 'seq 0: time in the future' }]));
    expect(chains.pending(100)).toEqual([]);
    expect(chains.due(a, START + 2 * INTERVAL)).toBe(true);
    expect(chains.sign(a, 'running', TELEMETRY, START + 2 * INTERVAL).body).toMatchObject({ seq: 0, prevHash: GENESIS_HASH });
  });

  it('a rejection of one chain leaves the others pending', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    chains.sign(assignment(), 'running', TELEMETRY, START);
    const other = chains.sign(assignment({ assignmentId: 'asg-2' }), 'running', TELEMETRY, START + 1);
    chains.acknowledge(answer([], [{ assignmentId: 'asg-1', seq: 0, reason: 'bad' }]));
    expect(chains.pending(100)).toEqual([other]);
  });

  it('after a restart, adopts the chain tip of the desired state and continues from it', () => {
    const before = new ReceiptChains(HOST, KEY.secretKey);
    const signed = signEvery(before, assignment(), START, 3);
    const tip = signed[2]!;

    const restarted = new ReceiptChains(HOST, KEY.secretKey);
    const desired = assignment({ chainTip: { seq: tip.body.seq, hash: tip.hash, at: tip.body.at } });
    restarted.adopt(desired);
    expect(restarted.pending(100)).toEqual([]);
    expect(restarted.due(desired, tip.body.at + INTERVAL - 1)).toBe(false);
    expect(restarted.due(desired, tip.body.at + INTERVAL)).toBe(true);

    const next = restarted.sign(desired, 'running', TELEMETRY, tip.body.at + INTERVAL);
    expect(next.body).toMatchObject({ seq: 3, prevHash: tip.hash });
    const verified = verifyReceiptBatch([next], apiContext(tipOf(tip), tip.body.at + 2 * INTERVAL));
    expect(verified.rejected).toEqual([]);
    expect(verified.payableMs).toBe(INTERVAL);
  });

  it('does not let an older desired tip rewind a chain with receipts still pending', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    const signed = signEvery(chains, assignment(), START, 3);
    chains.adopt(assignment({ chainTip: { seq: 0, hash: signed[0]!.hash, at: signed[0]!.body.at } }));
    expect(chains.pending(100)).toEqual(signed);
    expect(chains.sign(assignment(), 'running', TELEMETRY, START + 3 * INTERVAL).body.seq).toBe(3);
  });

  it('forgets the chains of assignments no longer desired', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey);
    chains.sign(assignment(), 'running', TELEMETRY, START);
    const kept = chains.sign(assignment({ assignmentId: 'asg-2' }), 'running', TELEMETRY, START);
    chains.retain(new Set(['asg-2']));
    expect(chains.pending(100)).toEqual([kept]);
  });

  it('keeps a bounded number of unacknowledged receipts, dropping the oldest', () => {
    const chains = new ReceiptChains(HOST, KEY.secretKey, 4);
    const signed = signEvery(chains, assignment(), START, 7);
    // Per chain: another assignment's receipts do not count against this one's bound.
    const other = chains.sign(assignment({ assignmentId: 'asg-2' }), 'running', TELEMETRY, START + 10 * INTERVAL);
    expect(chains.pending(100)).toEqual([...signed.slice(3), other]);
    // The chain goes on from its newest receipt, not from what was dropped.
    expect(chains.sign(assignment(), 'running', TELEMETRY, START + 11 * INTERVAL).body).toMatchObject({ seq: 7, prevHash: signed[6]!.hash });
  });
});
