/** Which of the Lease account's terms differs from what the engine asked to open: a pure comparison. */
import { PublicKey } from '@solana/web3.js';
import { termsMismatch, type OpenTerms } from '../../../activities/escrow-deposit.effect';
import type { EscrowLease } from '../../../infra/solana/escrow-client';

test('termsMismatch names the first of the Lease account\'s terms that differs', () => {
  const asked: OpenTerms = { customer: new PublicKey(7).toBase58(), mint: new PublicKey(8).toBase58(), max_rate_per_second: 27_778n,
    duration_seconds: 600n, deposited: 16_666_667n, window_seconds: 900n };
  const lease = { customer: new PublicKey(7), mint: new PublicKey(8), maxRatePerSecond: 27_778n, durationSeconds: 600n,
    deposited: 16_666_667n, windowSeconds: 900n } as EscrowLease;
  expect(termsMismatch(lease, asked)).toBeNull();
  const changes: [keyof OpenTerms, Partial<EscrowLease>][] = [['customer', { customer: new PublicKey(9) }], ['mint', { mint: new PublicKey(9) }],
    ['max_rate_per_second', { maxRatePerSecond: 1n }], ['duration_seconds', { durationSeconds: 601n }], ['deposited', { deposited: 1n }],
    ['window_seconds', { windowSeconds: 86_400n }]];
  for (const [field, change] of changes) expect(termsMismatch({ ...lease, ...change }, asked)?.field).toBe(field);
});
