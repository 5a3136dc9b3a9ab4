import type { ReservedGpu } from '../../../domain/lease';
import { endsAt, initialState, periodEnd, providerIds, runningTier } from '../../../workflows/lease-state';
import type { LeaseState } from '../../../workflows/lease-state';
import type { LeaseWorkflowInput } from '../../../workflows/messages';

const input: LeaseWorkflowInput = {
  leaseId: 'l1',
  customerId: 'c1',
  spec: { gpuModel: 'H100', gpuCount: 2, minTier: 3, maxPricePerGpuHour: '3000000', durationSeconds: 120, image: 'img' },
  timings: { heartbeatTimeoutSeconds: 10, proofIntervalSeconds: 5, settlementPeriodSeconds: 60, queueTimeoutSeconds: 30 },
};
const gpu = (providerId: string, tier: 1 | 2 | 3): ReservedGpu => ({ gpuId: `${providerId}-g`, hostId: `${providerId}-h`, providerId, tier, model: 'H100', pricePerGpuHour: '1' });
const running = (startedAt: number): LeaseState => ({ ...initialState(input, 'seed'), status: 'running', startedAt });

test('periods are aligned to the start and cut at the lease end', () => {
  const state = running(1_000_000);
  expect(periodEnd(state, 1_000_000, 60)).toBe(1_060_000);
  expect(periodEnd(state, 1_059_999, 60)).toBe(1_060_000);
  expect(periodEnd(state, 1_060_000, 60)).toBe(1_120_000);
  // 120 s lease: the third period would pass the end.
  expect(periodEnd(state, 1_119_000, 90)).toBe(1_120_000);
  expect(endsAt(state)).toBe(1_120_000);
});

test('an extension moves the end, not the period grid', () => {
  const state = { ...running(0), durationSeconds: 150 };
  expect(periodEnd(state, 125_000, 60)).toBe(150_000);
  state.durationSeconds = 300;
  expect(periodEnd(state, 125_000, 60)).toBe(180_000);
});

test('a lease not started yet has no end', () => {
  expect(endsAt(initialState(input, 'seed'))).toBeNull();
});

test('the tier operators filter on is the worst tier running, or the one asked for before placement', () => {
  const state = running(0);
  expect(runningTier(state, 3)).toBe(3);
  state.assignments = [
    { assignmentId: 'a', rank: 0, epoch: 1, gpu: gpu('p1', 1), startedAt: 0, verifiedSeconds: 0  },
    { assignmentId: 'b', rank: 1, epoch: 2, gpu: gpu('p2', 2), startedAt: 0, verifiedSeconds: 0  },
  ];
  expect(runningTier(state, 3)).toBe(2);
  expect(providerIds(state)).toEqual(['p1', 'p2']);
});
