import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import {
  BillingError,
  amountDue,
  maxRatePerSecond,
  periodPayouts,
  receiptsDigest,
  type BillingLine,
} from '../../../domain/billing';
import { costOfSeconds, depositFor } from '../../../domain/money';

describe('amountDue', () => {
  it('is costOfSeconds: floor(price × seconds / 3600)', () => {
    expect(amountDue(3_600_000n, 1)).toBe(1_000n);
    expect(amountDue(1_234_567n, 7)).toBe(2_400n); // 8_641_969 / 3600 = 2400.54…
    expect(amountDue(1_234_567n, 0)).toBe(0n);
    expect(amountDue(3_599n, 1)).toBe(0n);
  });
});

describe('maxRatePerSecond', () => {
  it('rounds up, so the cap for every second always fits under the rate', () => {
    expect(maxRatePerSecond(3_600_000n, 1)).toBe(1_000n);
    expect(maxRatePerSecond(3_600_001n, 1)).toBe(1_001n);
    expect(maxRatePerSecond(2_500_000n, 3)).toBe(2_084n); // 7_500_000 / 3600 = 2083.33…
    expect(maxRatePerSecond(1n, 1)).toBe(1n);
    for (const [price, gpus, seconds] of [[2_500_000n, 3, 3600], [1_234_567n, 7, 59], [999n, 2, 86_400]] as const) {
      expect(maxRatePerSecond(price, gpus) * BigInt(seconds)).toBeGreaterThanOrEqual(amountDue(price, seconds) * BigInt(gpus));
      expect(maxRatePerSecond(price, gpus) * BigInt(seconds)).toBeGreaterThanOrEqual(depositFor(price, gpus, seconds));
    }
  });

  it('refuses a GPU count that is not a positive integer', () => {
    expect(() => maxRatePerSecond(1n, 0)).toThrow(BillingError);
    expect(() => maxRatePerSecond(1n, 1.5)).toThrow(/positive integer/);
  });
});

const line = (over: Partial<BillingLine> & Pick<BillingLine, 'assignmentId' | 'providerId'>): BillingLine => ({
  pricePerGpuHour: '1234567',
  verifiedSeconds: 0,
  billed: '0',
  billedSeconds: 0,
  ...over,
});

describe('periodPayouts', () => {
  it('groups by provider, sorts by providerId and drops providers with nothing to pay', () => {
    const result = periodPayouts([
      line({ assignmentId: 'a3', providerId: 'p-zed', verifiedSeconds: 10 }),
      line({ assignmentId: 'a1', providerId: 'p-alpha', verifiedSeconds: 10, pricePerGpuHour: '3600000' }),
      line({ assignmentId: 'a2', providerId: 'p-alpha', verifiedSeconds: 5, pricePerGpuHour: '3600000' }),
      line({ assignmentId: 'a4', providerId: 'p-mid', verifiedSeconds: 0 }),
    ]);
    expect(result.payouts).toEqual([
      { providerId: 'p-alpha', amount: '15000', seconds: 15 },
      { providerId: 'p-zed', amount: '3429', seconds: 10 },
    ]);
    expect(result.billed).toEqual({ a1: '10000', a2: '5000', a3: '3429', a4: '0' });
    expect(result.billedSeconds).toEqual({ a1: 10, a2: 5, a3: 10, a4: 0 });
  });

  it('keeps the seconds of a provider paid nothing unbilled until an amount pays them', () => {
    const first = periodPayouts([line({ assignmentId: 'a', providerId: 'p', pricePerGpuHour: '1000', verifiedSeconds: 3 })]);
    expect(first).toEqual({ payouts: [], billed: { a: '0' }, billedSeconds: { a: 0 } });
    const second = periodPayouts([line({ assignmentId: 'a', providerId: 'p', pricePerGpuHour: '1000', verifiedSeconds: 4 })]);
    expect(second).toEqual({ payouts: [{ providerId: 'p', amount: '1', seconds: 4 }], billed: { a: '1' }, billedSeconds: { a: 4 } });
  });

  it('pays each period only what the new total owes beyond what was billed', () => {
    const first = periodPayouts([line({ assignmentId: 'a', providerId: 'p', verifiedSeconds: 7 })]);
    expect(first.payouts).toEqual([{ providerId: 'p', amount: '2400', seconds: 7 }]);
    const second = periodPayouts([line({ assignmentId: 'a', providerId: 'p', verifiedSeconds: 14,
      billed: first.billed.a!, billedSeconds: first.billedSeconds.a! })]);
    // 14 s cost floor(17_283_938 / 3600) = 4801: the rounding left over from the first period is paid now.
    expect(second.payouts).toEqual([{ providerId: 'p', amount: '2401', seconds: 7 }]);
  });

  it('loses and invents nothing over many periods: the payouts sum to amountDue of the total', () => {
    const prices = ['1234567', '999', '2500000', '3599', '7'];
    const state = prices.map((price, i) => ({ assignmentId: `a${i}`, providerId: `p${i % 3}`, price,
      seconds: 0, billed: '0', billedSeconds: 0 }));
    const paid = new Map<string, bigint>();
    const paidSeconds = new Map<string, number>();
    let seed = 42;
    for (let period = 0; period < 500; period++) {
      for (const s of state) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        s.seconds += seed % 61; // 0..60 s verified in the period
      }
      const result = periodPayouts(state.map((s) => line({ assignmentId: s.assignmentId, providerId: s.providerId,
        pricePerGpuHour: s.price, verifiedSeconds: s.seconds, billed: s.billed, billedSeconds: s.billedSeconds })));
      for (const payout of result.payouts) {
        expect(BigInt(payout.amount)).toBeGreaterThan(0n);
        paid.set(payout.providerId, (paid.get(payout.providerId) ?? 0n) + BigInt(payout.amount));
        paidSeconds.set(payout.providerId, (paidSeconds.get(payout.providerId) ?? 0) + payout.seconds);
      }
      for (const s of state) {
        s.billed = result.billed[s.assignmentId]!;
        s.billedSeconds = result.billedSeconds[s.assignmentId]!;
      }
    }
    for (const provider of ['p0', 'p1', 'p2']) {
      const mine = state.filter((s) => s.providerId === provider);
      const expected = mine.reduce((sum, s) => sum + costOfSeconds(BigInt(s.price), s.seconds), 0n);
      expect(paid.get(provider) ?? 0n).toBe(expected);
      // Seconds of periods that paid nothing are carried, not lost: paid with a later amount or still unbilled.
      const unbilled = mine.reduce((sum, s) => sum + s.seconds - s.billedSeconds, 0);
      expect((paidSeconds.get(provider) ?? 0) + unbilled).toBe(mine.reduce((sum, s) => sum + s.seconds, 0));
    }
    const cheap = state.find((s) => s.price === '7')!;
    expect(BigInt(cheap.billed)).toBe(costOfSeconds(7n, cheap.seconds));
  });

  it('never bills more than the escrow holds: whole seconds in the lines\' order, the rest carried to a later bill', () => {
    // 3,600,000 an hour is 1,000 a second. 30 s verified on the older assignment, 20 s on the newer: 50,000 owed.
    const lines = [
      line({ assignmentId: 'old', providerId: 'p-b', pricePerGpuHour: '3600000', verifiedSeconds: 30, billed: '5000', billedSeconds: 5 }),
      line({ assignmentId: 'new', providerId: 'p-a', pricePerGpuHour: '3600000', verifiedSeconds: 20 }),
    ];
    const capped = periodPayouts(lines, 30_500n);
    // 25,000 pays the older one's 25 s whole; 5,500 left pays 5 whole seconds of the newer one, not 5.5.
    expect(capped.payouts).toEqual([{ providerId: 'p-a', amount: '5000', seconds: 5 }, { providerId: 'p-b', amount: '25000', seconds: 25 }]);
    expect(capped.billed).toEqual({ old: '30000', new: '5000' });
    expect(capped.billedSeconds).toEqual({ old: 30, new: 5 });
    // Once a top-up has funded them, the next bill pays the 15 s carried, and no second twice.
    const next = periodPayouts([
      line({ assignmentId: 'old', providerId: 'p-b', pricePerGpuHour: '3600000', verifiedSeconds: 30, billed: '30000', billedSeconds: 30 }),
      line({ assignmentId: 'new', providerId: 'p-a', pricePerGpuHour: '3600000', verifiedSeconds: 20, billed: '5000', billedSeconds: 5 }),
    ], 1_000_000n);
    expect(next.payouts).toEqual([{ providerId: 'p-a', amount: '15000', seconds: 15 }]);
    // Enough money, or none said: the same bill as ever. Nothing left (or less than nothing): nothing paid, nothing lost.
    expect(periodPayouts(lines, 45_000n)).toEqual(periodPayouts(lines));
    expect(periodPayouts(lines, 0n)).toEqual({ payouts: [], billed: { old: '5000', new: '0' }, billedSeconds: { old: 5, new: 0 } });
    expect(periodPayouts(lines, -7n)).toEqual(periodPayouts(lines, 0n));
  });

  it('under a cap, pays the most whole seconds the money covers at any price, and never a base unit more', () => {
    for (const price of ['1', '1799', '1800', '3599', '3601', '7200', '1234567']) {
      for (const available of [0n, 1n, 2n, 3n, 999n, 12_345n]) {
        const bill = periodPayouts([line({ assignmentId: 'a', providerId: 'p', pricePerGpuHour: price, verifiedSeconds: 1_000_000 })], available);
        const seconds = bill.billedSeconds.a!;
        const paid = BigInt(bill.billed.a!);
        expect(paid).toBeLessThanOrEqual(available);
        expect(paid).toBe(amountDue(BigInt(price), seconds));
        // All of it when it fits; else one more second would cost more than there is. (A bill that pays nothing
        // leaves its seconds unbilled.)
        if (seconds === 1_000_000) expect(amountDue(BigInt(price), seconds)).toBeLessThanOrEqual(available);
        else if (paid > 0n) expect(amountDue(BigInt(price), seconds + 1)).toBeGreaterThan(available);
        else expect(seconds).toBe(0);
      }
    }
  });

  it('refuses standing that went backwards, repeated assignments and more providers than one settlement pays', () => {
    expect(() => periodPayouts([line({ assignmentId: 'a', providerId: 'p', verifiedSeconds: 3, billedSeconds: 4 })]))
      .toThrow(/fewer than the 4 already billed/);
    expect(() => periodPayouts([line({ assignmentId: 'a', providerId: 'p', verifiedSeconds: 3, billed: '999999' })]))
      .toThrow(/more than/);
    expect(() => periodPayouts([line({ assignmentId: 'a', providerId: 'p' }), line({ assignmentId: 'a', providerId: 'q' })]))
      .toThrow(/twice/);
    expect(() => periodPayouts([line({ assignmentId: 'a', providerId: 'p', billed: '-1' })])).toThrow(BillingError);
    const many = Array.from({ length: 17 }, (_, i) => line({ assignmentId: `a${i}`, providerId: `p${i}`, verifiedSeconds: 60 }));
    expect(() => periodPayouts(many)).toThrow(/at most 16/);
  });
});

describe('receiptsDigest', () => {
  const h = (n: number) => bytesToHex(sha256(new Uint8Array([n])));

  it('is sha256 over the raw hashes sorted by hex, whatever order they come in', () => {
    const hashes = [h(1), h(2), h(3)];
    const sorted = [...hashes].sort();
    const expected = bytesToHex(sha256(Uint8Array.from(sorted.flatMap((x) => Array.from(hexToBytes(x))))));
    expect(receiptsDigest(hashes)).toBe(expected);
    expect(receiptsDigest([h(3), h(1), h(2)])).toBe(expected);
    expect(receiptsDigest(hashes.map((x) => x.toUpperCase()))).toBe(expected);
    expect(receiptsDigest([h(1), h(2)])).not.toBe(expected);
  });

  it('of no receipts is sha256 of nothing, and refuses what is not a 32-byte hash', () => {
    expect(receiptsDigest([])).toBe(bytesToHex(sha256(new Uint8Array())));
    expect(() => receiptsDigest(['abc'])).toThrow(/not 32 bytes/);
  });
});
