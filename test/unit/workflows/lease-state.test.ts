import type { ReservedGpu } from '../../../domain/lease';
import { endIsNear, endsAt, endsForLackOfFunds, fixedEndsAt, initialState, periodEnd, providerIds, runningTier } from '../../../workflows/lease-state';
import type { LeaseState } from '../../../workflows/lease-state';
import type { LeaseWorkflowInput } from '../../../workflows/messages';

const input: LeaseWorkflowInput = {
  leaseId: 'l1',
  customerId: 'c1',
  spec: { gpuModel: 'H100', gpuCount: 2, minTier: 3, maxPricePerGpuHour: '3000000', durationSeconds: 120, image: 'img' },
  timings: { heartbeatTimeoutSeconds: 10, proofIntervalSeconds: 5, settlementPeriodSeconds: 60, queueTimeoutSeconds: 30, depositWindowPeriods: 2 },
};
const gpu = (providerId: string, tier: 1 | 2 | 3): ReservedGpu => ({ gpuId: `${providerId}-g`, hostId: `${providerId}-h`, providerId, tier, model: 'H100', pricePerGpuHour: '1' });
/** Running, with the whole fixed duration funded (a rolling deposit that never ran short). */
const running = (startedAt: number): LeaseState => {
  const state: LeaseState = { ...initialState(input, 'seed'), status: 'running', startedAt };
  state.escrow = { ...state.escrow, fundedSeconds: 10_000 };
  return state;
};

test('periods are aligned to the start and cut at the lease end', () => {
  const state = running(1_000_000);
  expect(periodEnd(state, 1_000_000, 60)).toBe(1_060_000);
  expect(periodEnd(state, 1_059_999, 60)).toBe(1_060_000);
  expect(periodEnd(state, 1_060_000, 60)).toBe(1_120_000);
  // 120 s lease: the third period would pass the end.
  expect(periodEnd(state, 1_119_000, 90)).toBe(1_120_000);
  expect(endsAt(state)).toBe(1_120_000);
});

test('only the lease\'s own end is near: a period boundary 100 ms away is an ordinary period', () => {
  const state = running(1_000_000);
  // A settlement that ran late left the loop 100 ms before the second boundary of a 120 s lease.
  expect(periodEnd(state, 1_059_900, 60) - 1_059_900).toBe(100);
  expect(endIsNear(state, 1_059_900)).toBe(false);
  expect(endIsNear(state, 1_119_499)).toBe(false);
  expect(endIsNear(state, 1_119_600)).toBe(true);
  expect(endIsNear(state, 1_200_000)).toBe(true);
  expect(endIsNear({ ...state, durationSeconds: null }, 1_059_900)).toBe(false);
  expect(endIsNear(initialState(input, 'seed'), 0)).toBe(false);
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

test('the lease ends at the last funded second once its allowance could not fund the deposit to its fixed end', () => {
  const state = running(0);
  state.escrow.fundedSeconds = 90;
  // Merely not topped up yet (a late settlement): the end stays the fixed one.
  expect(endsAt(state)).toBe(120_000);
  expect(endsForLackOfFunds(state)).toBe(false);
  state.escrow.warned = 'allowance_exhausted';
  expect(endsAt(state)).toBe(90_000);
  expect(fixedEndsAt(state)).toBe(120_000);
  expect(endsForLackOfFunds(state)).toBe(true);
  expect(periodEnd(state, 61_000, 60)).toBe(90_000);
  state.escrow.fundedSeconds = 120;
  expect(endsForLackOfFunds(state)).toBe(false);
});

test('an open-ended lease has no end while its allowance funds it, and ends at its last funded second when it stops', () => {
  const state = { ...running(0), durationSeconds: null };
  state.escrow.fundedSeconds = 180;
  expect(endsAt(state)).toBeNull();
  expect(fixedEndsAt(state)).toBeNull();
  expect(periodEnd(state, 65_000, 60)).toBe(120_000);
  state.escrow.warned = 'funds_low';
  expect(endsAt(state)).toBeNull();
  state.escrow.warned = 'allowance_exhausted';
  expect(endsAt(state)).toBe(180_000);
  expect(endsForLackOfFunds(state)).toBe(true);
  expect(periodEnd(state, 150_000, 60)).toBe(180_000);
});
