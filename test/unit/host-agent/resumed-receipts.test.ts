import type { SuperviseInput } from '../../../activities/contracts';
import type { ProofReceipt, ProofReceiptBody } from '../../../domain/proof-receipt';
import { GENESIS_HASH } from '../../../domain/proof-receipt';
import { resumedReceipts } from '../../../workers/host-agent/supervise';

const input: SuperviseInput = {
  leaseId: 'l1',
  assignmentId: 'a1',
  epoch: 2,
  gpuId: 'h1-gpu0',
  period: 4,
  until: 0,
  challengeSeed: 'seed',
  proofIntervalMs: 1_000,
  chainTip: { seq: 9, hash: 'f'.repeat(64) },
};

function receipt(seq: number, prevHash: string, over: Partial<ProofReceiptBody> = {}): ProofReceipt {
  const body = {
    assignmentId: 'a1', epoch: 2, period: 4, seq, prevHash, containerState: 'running', ...over,
  } as ProofReceiptBody;
  return { body, hash: `${seq}`.padStart(64, '0'), signature: '' };
}

describe('resumedReceipts', () => {
  it('keeps what a previous attempt heartbeated when it continues the chain tip', () => {
    const r10 = receipt(10, 'f'.repeat(64));
    const r11 = receipt(11, r10.hash);
    expect(resumedReceipts(input, { receipts: [r10, r11] })).toEqual([r10, r11]);
  });

  it('stops at the first receipt that does not continue the chain', () => {
    const r10 = receipt(10, 'f'.repeat(64));
    const forked = receipt(11, GENESIS_HASH);
    expect(resumedReceipts(input, { receipts: [r10, forked] })).toEqual([r10]);
    expect(resumedReceipts(input, { receipts: [receipt(10, 'f'.repeat(64), { period: 3 })] })).toEqual([]);
    expect(resumedReceipts(input, { receipts: [receipt(10, 'f'.repeat(64), { epoch: 1 })] })).toEqual([]);
  });

  it('ignores missing or malformed details', () => {
    expect(resumedReceipts(input, undefined)).toEqual([]);
    expect(resumedReceipts(input, { receipts: 'x' })).toEqual([]);
    expect(resumedReceipts(input, { receipts: [null] })).toEqual([]);
  });

  it('starts from genesis for a new assignment', () => {
    const r0 = receipt(0, GENESIS_HASH);
    expect(resumedReceipts({ ...input, chainTip: null }, { receipts: [r0] })).toEqual([r0]);
  });
});
