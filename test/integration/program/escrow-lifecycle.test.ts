/**
 * Every instruction's happy path, run by the built program in LiteSVM through Anchor-built instructions, with
 * the money followed to the base unit: `paid + fees + burned + refunded = deposited` after close and reclaim.
 */
import { randomUUID } from 'node:crypto';
import { feeSplit, type EscrowLease } from '../../../infra/solana/escrow-client';
import { EscrowHarness, buildProgram } from './escrow-harness';
import {
  BURN_BPS,
  FEE_BPS,
  GRACE_SECONDS,
  TOKEN,
  closing,
  digest,
  openLease,
  openMarket,
  settlement,
  topUp,
} from './escrow-fixtures';

beforeAll(() => buildProgram());

function expectBooksBalance(lease: EscrowLease): void {
  expect(lease.paidToProviders + lease.fees + lease.burned + lease.refunded).toBe(lease.deposited);
}

/** What settling `amounts` moves: net per provider and the period's treasury and burn totals. */
function split(amounts: bigint[], feeBps = FEE_BPS, burnBps = BURN_BPS) {
  const parts = amounts.map((amount) => feeSplit(amount, feeBps, burnBps));
  const sum = (pick: (s: (typeof parts)[number]) => bigint) => parts.reduce((acc, s) => acc + pick(s), 0n);
  return { net: parts.map((s) => s.toProvider), treasury: sum((s) => s.toTreasury), burn: sum((s) => s.toBurn) };
}

describe('lease_escrow happy paths', () => {
  test('initialize_config stores the settings and update_config replaces them', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const config = h.client.decodeConfig(h.data(h.client.configAddress));
    expect(config.admin).toEqual(m.admin.publicKey);
    expect(config.settlementAuthority).toEqual(m.authority.publicKey);
    expect([config.mint, config.treasury]).toEqual([m.mint, m.treasury]);
    expect([config.feeBps, config.burnBps, config.reclaimGraceSeconds]).toEqual([FEE_BPS, BURN_BPS, GRACE_SECONDS]);

    const newAdmin = h.wallet();
    const newAuthority = h.wallet();
    const newTreasury = h.createTokenAccount(m.mint, newAdmin.publicKey);
    const update = {
      admin: m.admin.publicKey,
      treasury: newTreasury,
      newAdmin: newAdmin.publicKey,
      settlementAuthority: newAuthority.publicKey,
      feeBps: 100,
      burnBps: 10_000,
      reclaimGraceSeconds: GRACE_SECONDS * 2n,
    };
    const result = await h.ok(h.client.updateConfig(update), [m.admin]);
    const updated = h.client.decodeConfig(h.data(h.client.configAddress));
    expect(updated).toMatchObject({ admin: newAdmin.publicKey, settlementAuthority: newAuthority.publicKey });
    expect([updated.treasury, updated.feeBps, updated.burnBps, updated.reclaimGraceSeconds]).toEqual([
      newTreasury,
      100,
      10_000,
      GRACE_SECONDS * 2n,
    ]);
    expect(updated.mint).toEqual(m.mint);
    expect(result.events.map((e) => e.name)).toEqual(['configUpdated']);
    // The new admin is now the admin.
    await h.ok(h.client.updateConfig({ ...update, admin: newAdmin.publicKey }), [newAdmin]);
  });

  test('open_lease locks the deposit in the lease vault', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const before = h.balance(m.customerToken);
    const l = await openLease(h, m, { deposit: 123n * TOKEN, ratePerSecond: 40_000n, durationSeconds: 7_200n });
    expect(h.balance(l.vault)).toBe(123n * TOKEN);
    expect(h.balance(m.customerToken)).toBe(before - 123n * TOKEN);
    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease).toMatchObject({
      customer: m.customer.publicKey,
      mint: m.mint,
      vault: l.vault,
      maxRatePerSecond: 40_000n,
      deposited: 123n * TOKEN,
      paidToProviders: 0n,
      startTime: h.now,
      durationSeconds: 7_200n,
      reclaimGraceSeconds: GRACE_SECONDS,
      feeBps: FEE_BPS,
      burnBps: BURN_BPS,
      lastPeriod: 0n,
      status: 'open',
    });
    expect(Buffer.from(lease.leaseId).toString('hex')).toBe(l.leaseId.replace(/-/g, ''));
  });

  test('open_lease works even when someone sent lamports to the lease and vault addresses first', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const leaseId = randomUUID();
    const lease = h.client.leaseAddress(leaseId);
    const vault = h.client.vaultAddress(lease);
    h.svm.airdrop(lease, 1_000n);
    h.svm.airdrop(vault, 10_000_000n);
    const open = { customer: m.customer.publicKey, settlementAuthority: m.authority.publicKey, leaseId, mint: m.mint,
      customerToken: m.customerToken };
    const terms = { maxRatePerSecond: 1n, durationSeconds: 60n, deposit: TOKEN };
    await h.ok(h.client.openLease({ ...open, ...terms }), [m.customer, m.authority]);
    expect(h.client.decodeLease(h.data(lease)).status).toBe('open');
    expect(h.balance(vault)).toBe(TOKEN);
  });

  test('top_up: the customer adds and extends; anyone else only adds, to the lease named; the authority co-signs', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const a = await openLease(h, m);
    const b = await openLease(h, m);
    const bBefore = h.snapshot([b.lease, b.vault]);

    const own = await h.ok(topUp(h, m, a, m.customer, m.customerToken, 5n * TOKEN, 600n), [m.customer, m.authority]);
    const friend = h.wallet();
    const friendToken = h.createTokenAccount(m.mint, friend.publicKey, 7n * TOKEN);
    await h.ok(topUp(h, m, a, friend, friendToken, 7n * TOKEN), [friend, m.authority]);

    const lease = h.client.decodeLease(h.data(a.lease));
    expect(lease.deposited).toBe(a.deposit + 12n * TOKEN);
    expect(lease.durationSeconds).toBe(a.durationSeconds + 600n);
    expect(h.balance(a.vault)).toBe(a.deposit + 12n * TOKEN);
    expect(h.balance(friendToken)).toBe(0n);
    expect(h.snapshot([b.lease, b.vault])).toBe(bBefore);
    expect(own.events[0]?.name).toBe('leaseToppedUp');
  });

  test('settle pays each provider its net, the treasury its share, and burns the rest', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const l = await openLease(h, m);
    const supply = h.supply(m.mint);
    h.advance(60);
    const first = [1_000_001n, 999n, 1_234_567n];
    const r1 = await h.ok(h.client.settle(settlement(m, l, 1n, first)), [m.authority]);
    h.advance(60);
    const second = [2_000_000n, 0n, 5n];
    await h.ok(h.client.settle(settlement(m, l, 2n, second)), [m.authority]);

    const s1 = split(first);
    const s2 = split(second);
    m.providers.forEach((p, i) => expect(h.balance(p.token)).toBe(s1.net[i]! + s2.net[i]!));
    expect(h.balance(m.treasury)).toBe(s1.treasury + s2.treasury);
    expect(h.supply(m.mint)).toBe(supply - s1.burn - s2.burn);
    const gross = [...first, ...second].reduce((a, b) => a + b, 0n);
    expect(h.balance(l.vault)).toBe(l.deposit - gross);

    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease.paidToProviders).toBe([...s1.net, ...s2.net].reduce((a, b) => a + b, 0n));
    expect([lease.fees, lease.burned]).toEqual([s1.treasury + s2.treasury, s1.burn + s2.burn]);
    expect([lease.lastPeriod, lease.lastSettledAt, lease.receiptsDigest]).toEqual([2n, h.now, digest(2)]);

    const [event] = r1.events;
    expect(event?.name).toBe('leaseSettled');
    const payouts = event?.data.payouts as { tokenAccount: unknown; gross: { toString(): string } }[];
    expect(payouts.map((p) => BigInt(p.gross.toString()))).toEqual(first);
    expect(payouts.map((p) => p.tokenAccount)).toEqual(m.providers.map((p) => p.token));
  });

  test('close_lease settles the last period, refunds the rest and closes the vault; the books balance', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const l = await openLease(h, m);
    const customerTokens = h.balance(m.customerToken);
    const customerLamports = h.svm.getBalance(m.customer.publicKey)!;
    const vaultRent = h.svm.getBalance(l.vault)!;
    h.advance(90);
    await h.ok(h.client.settle(settlement(m, l, 1n, [1_000_000n, 2_000_000n])), [m.authority]);
    h.advance(30);
    const close = await h.ok(h.client.closeLease(closing(m, l, 2n, [500_000n])), [m.authority]);

    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease.status).toBe('closed');
    expect(lease.refunded).toBe(l.deposit - 3_500_000n);
    expectBooksBalance(lease);
    expect(lease.deposited).toBe(l.deposit);
    expect(h.balance(m.customerToken)).toBe(customerTokens + lease.refunded);
    expect(h.exists(l.vault)).toBe(false);
    expect(h.svm.getBalance(m.customer.publicKey)).toBe(customerLamports + vaultRent);
    expect(close.events.map((e) => e.name)).toEqual(['leaseSettled', 'leaseClosed']);
  });

  test('reclaim gives the customer the unpaid rest after expiry plus grace; the books balance', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const l = await openLease(h, m, { durationSeconds: 600n });
    h.advance(60);
    await h.ok(h.client.settle(settlement(m, l, 1n, [2_000_000n])), [m.authority]);
    const customerTokens = h.balance(m.customerToken);
    h.advance(600n - 60n + GRACE_SECONDS);
    const result = await h.ok(
      h.client.reclaim({ customer: m.customer.publicKey, lease: l.lease, customerToken: m.customerToken }),
      [m.customer],
    );
    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease.status).toBe('reclaimed');
    expect(lease.refunded).toBe(l.deposit - 2_000_000n);
    expectBooksBalance(lease);
    expect(h.balance(m.customerToken)).toBe(customerTokens + lease.refunded);
    expect(h.exists(l.vault)).toBe(false);
    expect(result.events.map((e) => e.name)).toEqual(['leaseReclaimed']);
  });

  test('tokens sent straight to the vault are refunded and counted as deposited', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const l = await openLease(h, m);
    h.mintTo(m.mint, l.vault, 42n);
    h.advance(10);
    await h.ok(h.client.closeLease(closing(m, l, 1n, [100n])), [m.authority]);
    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease.deposited).toBe(l.deposit + 42n);
    expect(lease.refunded).toBe(l.deposit + 42n - 100n);
    expectBooksBalance(lease);
  });

  test('one settle transaction pays 16 providers', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h, 16);
    const l = await openLease(h, m);
    h.advance(60);
    const amounts = m.providers.map((_, i) => 100_000n + BigInt(i));
    await h.ok(h.client.settle(settlement(m, l, 1n, amounts)), [m.authority]);
    const { net } = split(amounts);
    m.providers.forEach((p, i) => expect(h.balance(p.token)).toBe(net[i]));
  });
});
