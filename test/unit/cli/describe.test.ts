/** What `--watch` shows for each event, and `lease cost`'s sums. */
import { leaseCost } from '../../../api/cli/cost';
import { describeEvent } from '../../../api/cli/describe';
import type { LeaseDetailView } from '../../../api/schemas/leases.schemas';

const event = (kind: string, data: Record<string, unknown>) => ({ id: '1.0.0', at: '2026-12-01T00:00:00.000Z', kind, data }) as never;

test('phases spin, ranks and settlements are kept as lines, the terminal status ends', () => {
  expect(describeEvent(event('status', { status: 'reserving' }))).toEqual({ kind: 'phase', text: 'reserving GPUs' });
  expect(describeEvent(event('placed', { rank: 1, epoch: 2, hostId: 'h', providerId: 'p', tier: 1 }))).toMatchObject({
    kind: 'line', symbol: 'info', text: 'rank 1 placed on host h (provider p, tier 1, epoch 2)',
  });
  expect(describeEvent(event('running', { rank: 1, epoch: 2 }))).toMatchObject({ symbol: 'succeed', text: 'rank 1 running (epoch 2)' });
  expect(describeEvent(event('ended', { rank: 0, epoch: 1, reason: 'host_lost' }))).toMatchObject({ symbol: 'warn', text: 'rank 0 ended (epoch 1): host lost' });
  expect(describeEvent(event('settlement', { period: 3, kind: 'settle', gross: '0.01', signature: 'abcdefghijklmnopqrstuvwxyz', payouts: [{ seconds: 5 }, { seconds: 4 }] })))
    .toMatchObject({ text: 'settled period 3: 0.01 for 9 GPU-seconds (tx abcdefghijklmnop…)' });
  expect(describeEvent(event('status', { status: 'failed', endReason: 'no capacity' }))).toEqual({ kind: 'end', symbol: 'fail', text: 'lease failed: no capacity' });
});

test('lease cost sums the books and the payouts per provider, exactly', () => {
  const lease = { id: 'l', status: 'cancelled', escrow: { address: 'A', status: 'closed', deposited: '1', paidToProviders: '0.3', fees: '0.02',
    burned: '0.01', refunded: '0.67', lastPeriod: 2 } } as unknown as LeaseDetailView;
  const payout = (providerId: string, seconds: number, gross: string, net: string) => ({ providerId, tokenAccount: 't', seconds, gross, net, fee: '0.01', burn: '0.000001' });
  const cost = leaseCost(lease, [
    { period: 1, kind: 'settle', signature: 's', receiptsDigest: 'd', gross: '0', topUp: '0', fee: '0', burned: '0', refunded: '0', payouts: [payout('p2', 5, '0.1', '0.09'), payout('p1', 5, '0.1', '0.09')] },
    { period: 2, kind: 'close', signature: 's', receiptsDigest: 'd', gross: '0', topUp: '0', fee: '0', burned: '0', refunded: '0.67', payouts: [payout('p1', 3, '0.100001', '0.09')] },
  ]);
  expect(cost).toMatchObject({ deposited: '1', paidToProviders: '0.3', refunded: '0.67', held: '0', settlements: 2 });
  expect(cost.providers).toEqual([
    { providerId: 'p1', seconds: 8, gross: '0.200001', net: '0.18', fee: '0.02', burn: '0.000002' },
    { providerId: 'p2', seconds: 5, gross: '0.1', net: '0.09', fee: '0.01', burn: '0.000001' },
  ]);
});
