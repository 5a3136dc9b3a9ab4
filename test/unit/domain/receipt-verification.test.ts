import { signReceipt, verifyReceiptBatch } from '../../../domain/proof-receipt';
import type { ProofReceipt, ProofReceiptBody } from '../../../domain/proof-receipt';
import {
  HOST_SECRET,
  INTERVAL_MS,
  OTHER_SECRET,
  START_AT,
  buildChain,
  context,
  seqs,
  tipOf,
  answerFor,
} from './receipt-fixtures';

const CHAIN = buildChain({ count: 6 });

/** A chain of 6 whose receipt `seq` is built by `edit`, later receipts still linking to it. */
const chainEditing = (seq: number, edit: (b: ProofReceiptBody) => Partial<ProofReceiptBody>): ProofReceipt[] =>
  buildChain({ count: 6, edit: (b) => (b.seq === seq ? edit(b) : {}) });

/** Asserts the chain broke at `seq` for `reason`: earlier receipts accepted, that one and later rejected. */
function expectBrokenAt(receipts: ProofReceipt[], seq: number, reason: string): void {
  const result = verifyReceiptBatch(receipts, context());
  expect(seqs(result.accepted)).toEqual(Array.from({ length: seq }, (_, i) => i));
  expect(result.rejected[0]).toEqual({ seq, reason: `seq ${seq}: ${reason}` });
  for (const later of result.rejected.slice(1)) {
    expect(later.reason).toBe(`seq ${later.seq}: after broken chain at seq ${seq}`);
  }
  expect(result.rejected).toHaveLength(receipts.length - seq);
  expect(result.tip?.seq).toBe(seq === 0 ? undefined : seq - 1);
}

describe('verifyReceiptBatch: a valid chain', () => {
  it('accepts every receipt; seq 0 anchors and pays 0, each later one pays its interval', () => {
    const result = verifyReceiptBatch(CHAIN, context());
    expect(result.rejected).toEqual([]);
    expect(seqs(result.accepted)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.accepted.map((a) => a.payableMs)).toEqual([0, 5_000, 5_000, 5_000, 5_000, 5_000]);
    expect(result.payableMs).toBe(25_000);
    expect(result.tip).toEqual(tipOf(CHAIN[5]!));
  });

  it('sorts receipts by seq whatever order they arrive in', () => {
    const shuffled = [CHAIN[3]!, CHAIN[0]!, CHAIN[5]!, CHAIN[1]!, CHAIN[4]!, CHAIN[2]!];
    expect(verifyReceiptBatch(shuffled, context())).toEqual(verifyReceiptBatch(CHAIN, context()));
  });

  it('returns the given tip and pays nothing for an empty batch', () => {
    const tip = tipOf(CHAIN[2]!);
    expect(verifyReceiptBatch([], context({ tip }))).toEqual({ accepted: [], rejected: [], tip, payableMs: 0 });
  });

  it('continues from a tip, paying the gap since the tip', () => {
    const first = verifyReceiptBatch(CHAIN.slice(0, 3), context());
    const second = verifyReceiptBatch(CHAIN.slice(3), context({ tip: first.tip }));
    expect(seqs(second.accepted)).toEqual([3, 4, 5]);
    expect(second.payableMs).toBe(15_000);
    expect(first.payableMs + second.payableMs).toBe(verifyReceiptBatch(CHAIN, context()).payableMs);
  });

  it('pays nothing for the first gap after a tip that does not say the container was running', () => {
    const { containerState: _omitted, ...bareTip } = tipOf(CHAIN[2]!);
    const result = verifyReceiptBatch(CHAIN.slice(3), context({ tip: bareTip }));
    expect(result.accepted.map((a) => a.payableMs)).toEqual([0, 5_000, 5_000]);
  });

  it('recomputes challenge answers only for sampled receipts', () => {
    const sample = jest.fn((seq: number) => seq % 2 === 0);
    const wrongOdd = buildChain({ count: 4, edit: (b) => (b.seq === 3 ? { challenge: { ...b.challenge, answer: 'f'.repeat(64) } } : {}) });
    const result = verifyReceiptBatch(wrongOdd, context({ sample }));
    expect(result.rejected).toEqual([]);
    expect(sample.mock.calls.map(([seq]) => seq)).toEqual([0, 1, 2, 3]);
  });
});

describe('verifyReceiptBatch: every rejection breaks the chain there', () => {
  it('rejects a signature that was altered', () => {
    const receipts = [...CHAIN];
    const sig = receipts[3]!.signature;
    receipts[3] = { ...receipts[3]!, signature: `${sig.slice(0, -2)}${sig.endsWith('00') ? '01' : '00'}` };
    expectBrokenAt(receipts, 3, 'bad signature');
  });

  it('rejects a receipt signed by a key other than the host key', () => {
    const receipts = [...CHAIN];
    receipts[2] = signReceipt(receipts[2]!.body, OTHER_SECRET);
    expectBrokenAt(receipts, 2, 'bad signature');
  });

  it('rejects a whole chain signed by another key', () => {
    expectBrokenAt(buildChain({ count: 3, secretKey: OTHER_SECRET }), 0, 'bad signature');
  });

  it('rejects a body changed after signing', () => {
    const receipts = [...CHAIN];
    receipts[4] = { ...receipts[4]!, body: { ...receipts[4]!.body, telemetry: { ...receipts[4]!.body.telemetry, utilizationPct: 1 } } };
    expectBrokenAt(receipts, 4, 'hash does not match body');
  });

  it('rejects a prevHash that does not link to the previous receipt', () => {
    expectBrokenAt(chainEditing(2, () => ({ prevHash: 'a'.repeat(64) })), 2, 'prevHash does not match the previous receipt');
  });

  it('rejects a first receipt whose prevHash is not the genesis hash', () => {
    expectBrokenAt(chainEditing(0, () => ({ prevHash: 'b'.repeat(64) })), 0, 'prevHash does not match the previous receipt');
  });

  it('rejects a skipped seq', () => {
    const receipts = CHAIN.filter((r) => r.body.seq !== 2);
    const result = verifyReceiptBatch(receipts, context());
    expect(seqs(result.accepted)).toEqual([0, 1]);
    expect(result.rejected).toEqual([
      { seq: 3, reason: 'seq 3: skipped seq (expected 2)' },
      { seq: 4, reason: 'seq 4: after broken chain at seq 3' },
      { seq: 5, reason: 'seq 5: after broken chain at seq 3' },
    ]);
  });

  it('rejects a chain that does not start at seq 0', () => {
    const result = verifyReceiptBatch(CHAIN.slice(1), context());
    expect(result.accepted).toEqual([]);
    expect(result.rejected[0]).toEqual({ seq: 1, reason: 'seq 1: skipped seq (expected 0)' });
  });

  it.each([
    ['epoch', { epoch: 1 }, 'wrong epoch 1 (expected 2)'],
    ['assignment', { assignmentId: 'asg-other' }, 'wrong assignmentId "asg-other" (expected "asg-1")'],
    ['lease', { leaseId: 'lease-other' }, 'wrong leaseId "lease-other" (expected "lease-1")'],
    ['host', { hostId: 'host-other' }, 'wrong hostId "host-other" (expected "host-1")'],
    ['GPU', { gpuId: 'gpu-other' }, 'wrong gpuId "gpu-other" (expected "gpu-1")'],
    ['period', { period: 2 }, 'wrong period 2 (expected 3)'],
  ])('rejects a receipt for the wrong %s', (_name, edit, reason) => {
    expectBrokenAt(chainEditing(3, () => edit), 3, reason);
  });

  it('rejects an answer to another period’s challenge seed', () => {
    expectBrokenAt(chainEditing(1, (b) => ({ challenge: { ...b.challenge, seed: 'seed-period-2' } })), 1, 'wrong challenge seed');
  });

  it('rejects a wrong challenge answer when that receipt is sampled', () => {
    const receipts = chainEditing(2, (b) => ({ challenge: { ...b.challenge, answer: 'f'.repeat(64) } }));
    expectBrokenAt(receipts, 2, 'wrong challenge answer');
  });

  it('rejects an answer computed for another seq', () => {
    const receipts = chainEditing(4, (b) => ({ challenge: { ...b.challenge, answer: CHAIN[3]!.body.challenge.answer } }));
    expectBrokenAt(receipts, 4, 'wrong challenge answer');
  });

  it('rejects time going backwards, and time standing still', () => {
    const back = chainEditing(3, (b) => ({ at: b.at - 2 * INTERVAL_MS }));
    expectBrokenAt(back, 3, `time went backwards (at ${START_AT + 5_000} <= previous ${START_AT + 10_000})`);
    const still = chainEditing(3, (b) => ({ at: b.at - INTERVAL_MS }));
    expect(verifyReceiptBatch(still, context()).rejected[0]?.reason).toMatch(/^seq 3: time went backwards/);
  });

  it('rejects time beyond the verifier clock plus the allowed skew, and accepts it at the limit', () => {
    const lastAt = CHAIN[5]!.body.at;
    const atLimit = verifyReceiptBatch(CHAIN, context({ now: lastAt - 2_000, maxClockSkewMs: 2_000 }));
    expect(atLimit.rejected).toEqual([]);
    const beyond = verifyReceiptBatch(CHAIN, context({ now: lastAt - 2_001, maxClockSkewMs: 2_000 }));
    expect(beyond.rejected).toEqual([{ seq: 5, reason: `seq 5: time in the future (at ${lastAt}, now ${lastAt - 2_001})` }]);
  });

  it('rejects a continuation that does not link to the tip', () => {
    const tip = { ...tipOf(CHAIN[2]!), hash: 'c'.repeat(64) };
    const result = verifyReceiptBatch(CHAIN.slice(3), context({ tip }));
    expect(result.accepted).toEqual([]);
    expect(result.rejected[0]).toEqual({ seq: 3, reason: 'seq 3: prevHash does not match the previous receipt' });
    expect(result.tip).toEqual(tip);
  });

  it('rejects malformed receipts from an untrusted host without throwing', () => {
    const noTelemetry = chainEditing(1, () => ({ telemetry: null as unknown as ProofReceiptBody['telemetry'] }));
    expectBrokenAt(noTelemetry, 1, 'malformed receipt (telemetry)');
    const badState = chainEditing(2, () => ({ containerState: 'paused' as ProofReceiptBody['containerState'] }));
    expectBrokenAt(badState, 2, 'malformed receipt (containerState)');
    // Version 1 answered a 2,000-iteration challenge; a v1 receipt is refused, not checked by v2's rule.
    const versionOne = chainEditing(3, () => ({ version: 1 as unknown as ProofReceiptBody['version'] }));
    expectBrokenAt(versionOne, 3, 'malformed receipt (version)');
  });

  it('rejects a receipt without a seq on its own, leaving the chain intact', () => {
    const junk = [null, {}, { body: { seq: 'x' } }, { body: { seq: -1 } }] as unknown as ProofReceipt[];
    const result = verifyReceiptBatch([...CHAIN, ...junk], context());
    expect(seqs(result.accepted)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.rejected).toEqual(junk.map(() => ({ seq: -1, reason: 'receipt without a valid seq' })));
  });
});

describe('verifyReceiptBatch: duplicates', () => {
  it('skips receipts at or below the tip silently, so a retried batch is idempotent', () => {
    const first = verifyReceiptBatch(CHAIN.slice(0, 4), context());
    const retry = verifyReceiptBatch(CHAIN.slice(0, 4), context({ tip: first.tip }));
    expect(retry).toEqual({ accepted: [], rejected: [], tip: first.tip, payableMs: 0 });
    const overlapping = verifyReceiptBatch(CHAIN, context({ tip: first.tip }));
    expect(seqs(overlapping.accepted)).toEqual([4, 5]);
    expect(overlapping.rejected).toEqual([]);
    expect(overlapping.payableMs).toBe(10_000);
  });

  it('skips an identical copy inside one batch, paying it once', () => {
    const result = verifyReceiptBatch([...CHAIN, CHAIN[2]!, CHAIN[5]!], context());
    expect(seqs(result.accepted)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.rejected).toEqual([]);
    expect(result.payableMs).toBe(25_000);
  });

  it('rejects a different receipt for a seq already accepted in the batch (equivocation)', () => {
    const forked = buildChain({ count: 3, edit: (b) => (b.seq === 2 ? { at: b.at + 1 } : {}) });
    const result = verifyReceiptBatch([...CHAIN, forked[2]!], context());
    expect(seqs(result.accepted)).toEqual([0, 1, 2]);
    expect(result.rejected[0]).toEqual({ seq: 2, reason: 'seq 2: conflicting duplicate of an accepted receipt' });
    expect(result.rejected.slice(1).map((r) => r.seq)).toEqual([3, 4, 5]);
  });
});

describe('verifyReceiptBatch: payable time', () => {
  it('pays a gap of exactly two intervals and nothing for a longer one; the chain goes on', () => {
    // Extra delay on top of the normal interval: seq 2 arrives 2 intervals after seq 1, seq 3 one ms later still.
    const extra = [0, 0, INTERVAL_MS, INTERVAL_MS + 1, 0, 0];
    const receipts = buildChain({ count: 6, edit: (b) => ({ at: b.at + extra[b.seq]! }) });
    const result = verifyReceiptBatch(receipts, context());
    expect(result.rejected).toEqual([]);
    expect(result.accepted.map((a) => a.payableMs)).toEqual([0, 5_000, 10_000, 0, 5_000, 5_000]);
    expect(result.payableMs).toBe(25_000);
  });

  it('pays nothing for a receipt of a container that is not running, nor for the gap after it', () => {
    const receipts = buildChain({ count: 6, edit: (b) => (b.seq === 2 ? { containerState: 'exited' } : b.seq === 4 ? { containerState: 'missing' } : {}) });
    const result = verifyReceiptBatch(receipts, context());
    expect(result.rejected).toEqual([]);
    expect(result.accepted.map((a) => a.payableMs)).toEqual([0, 5_000, 0, 0, 0, 0]);
  });

  it('never pays a second that consecutive accepted receipts do not cover', () => {
    // Every single-receipt tampering: payable time never exceeds the intervals between accepted neighbours.
    for (let broken = 0; broken < CHAIN.length; broken++) {
      const receipts = CHAIN.map((r) => (r.body.seq === broken ? { ...r, signature: '00'.repeat(64) } : r));
      const result = verifyReceiptBatch(receipts, context());
      expect(seqs(result.accepted)).toEqual(Array.from({ length: broken }, (_, i) => i));
      expect(result.payableMs).toBe(Math.max(0, broken - 1) * INTERVAL_MS);
    }
  });
});

describe('signReceipt', () => {
  it('signs so that a receipt from the host key verifies', () => {
    const body = { ...CHAIN[0]!.body };
    expect(verifyReceiptBatch([signReceipt(body, HOST_SECRET)], context()).accepted).toHaveLength(1);
  });
});

describe('verifyReceiptBatch: paid time is time the engine watched (DESIGN §5)', () => {
  it('rejects a chain dated before the assignment started', () => {
    const backdated = buildChain({ count: 3, edit: (b) => ({ at: b.at - 3_600_000 }) });
    const result = verifyReceiptBatch(backdated, context({ now: START_AT + 20_000 }));
    expect(result.accepted).toEqual([]);
    expect(result.rejected[0]!.reason).toMatch(/^seq 0: dated before the assignment started/);
  });

  it('pays a burst of receipts nothing beyond the time since the first one arrived', () => {
    // Seq 0 arrived at START_AT; ten receipts 2 intervals apart arrive 3 s later, all at once.
    const burst = buildChain({ count: 11, edit: (b) => ({ at: START_AT + b.seq * 2 * INTERVAL_MS - (b.seq === 0 ? 0 : 1) }) });
    const now = START_AT + 3_000;
    // A generous skew lets every receipt in, so that only the watched-time cap limits the pay.
    const result = verifyReceiptBatch(burst, context({ now, maxClockSkewMs: 200_000, watched: { firstArrivalAt: START_AT, payableMsSoFar: 0 } }));
    expect(result.rejected).toEqual([]);
    expect(result.payableMs).toBe(3_000);
  });

  it('counts the payable time already granted against what was watched', () => {
    const result = verifyReceiptBatch(CHAIN, context({ now: START_AT + 25_000, watched: { firstArrivalAt: START_AT, payableMsSoFar: 20_000 } }));
    expect(result.payableMs).toBe(5_000);
  });

  it('pays nothing in the batch that brings the first receipt: the engine has watched nothing yet', () => {
    const result = verifyReceiptBatch(CHAIN, context({ now: START_AT + 25_000, watched: { firstArrivalAt: null, payableMsSoFar: 0 } }));
    expect(seqs(result.accepted)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.payableMs).toBe(0);
  });

  it('accepts receipts answering the previous period’s challenge, and no older one', () => {
    const previous = { period: 2, seed: 'seed-period-2' };
    const old = buildChain({ count: 3, edit: (b) => ({ period: 2, challenge: { seed: previous.seed, answer: answerFor(previous.seed, b.seq) } }) });
    expect(verifyReceiptBatch(old, context({ previousChallenge: previous })).rejected).toEqual([]);
    const older = { period: 1, seed: 'seed-period-1' };
    const tooOld = buildChain({ count: 1, edit: (b) => ({ period: 1, challenge: { seed: older.seed, answer: answerFor(older.seed, b.seq) } }) });
    expect(verifyReceiptBatch(tooOld, context({ previousChallenge: previous })).rejected[0]!.reason).toBe('seq 0: wrong period 1 (expected 3)');
  });
});
