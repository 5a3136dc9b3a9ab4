/**
 * Every instruction's happy path, run by the built program in LiteSVM through Anchor-built instructions, with
 * the money followed to the base unit: `paid + fees + burned + refunded = deposited` after close and reclaim, and
 * over a rolling lease (a settlement and a top-up in one transaction, period after period).
 */
import { randomUUID } from 'node:crypto';
import { ACCOUNT_SIZE } from '@solana/spl-token';
import { feeSplit, LEASE_ACCOUNT_SIZE, type EscrowLease } from '../../../infra/solana/escrow-client';
import { EscrowHarness, buildProgram } from './escrow-harness';
import {
  ALLOWANCE,
  BURN_BPS,
  FEE_BPS,
  GRACE_SECONDS,
  TOKEN,
  closing,
  digest,
  openInstruction,
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

  test('open_lease draws the deposit from the allowance into the lease vault; the authority pays the rents', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const before = h.balance(m.customerToken);
    const authorityLamports = h.svm.getBalance(m.authority.publicKey)!;
    const customerLamports = h.svm.getBalance(m.customer.publicKey)!;
    const terms = { deposit: 123n * TOKEN, ratePerSecond: 40_000n, durationSeconds: 3_600n, windowSeconds: 7_200n };
    const l = await openLease(h, m, terms);
    expect(h.balance(l.vault)).toBe(123n * TOKEN);
    expect(h.balance(m.customerToken)).toBe(before - 123n * TOKEN);
    expect(h.delegation(m.customerToken)).toEqual({
      delegate: h.client.allowanceAddress(m.customer.publicKey),
      amount: ALLOWANCE - 123n * TOKEN,
    });
    // The customer's SOL is untouched: it did not sign, it pays neither the fee nor a rent.
    expect(h.svm.getBalance(m.customer.publicKey)).toBe(customerLamports);
    const rents = [LEASE_ACCOUNT_SIZE, ACCOUNT_SIZE].map((size) => h.svm.minimumBalanceForRentExemption(BigInt(size)));
    expect(authorityLamports - h.svm.getBalance(m.authority.publicKey)!).toBe(rents[0]! + rents[1]! + 5_000n);
    // The allowance PDA holds nothing: it only signs.
    expect(h.exists(h.client.allowanceAddress(m.customer.publicKey))).toBe(false);
    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease).toMatchObject({
      customer: m.customer.publicKey,
      mint: m.mint,
      vault: l.vault,
      maxRatePerSecond: 40_000n,
      deposited: 123n * TOKEN,
      paidToProviders: 0n,
      startTime: h.now,
      durationSeconds: 3_600n,
      reclaimGraceSeconds: GRACE_SECONDS,
      windowSeconds: 7_200n,
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
    await h.ok(openInstruction(h, m, leaseId, { ratePerSecond: TOKEN, durationSeconds: 60n, deposit: TOKEN }), [m.authority]);
    expect(h.client.decodeLease(h.data(lease)).status).toBe('open');
    expect(h.balance(vault)).toBe(TOKEN);
  });

  test('top_up: the settlement authority alone buys more seconds from the allowance, for the lease named', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const a = await openLease(h, m, { windowSeconds: 7_200n });
    const b = await openLease(h, m);
    const bBefore = h.snapshot([b.lease, b.vault]);
    const [tokens, allowance] = [h.balance(m.customerToken), h.delegation(m.customerToken).amount];

    const result = await h.ok(topUp(h, m, a, 5n * TOKEN, 600n), [m.authority]);
    const lease = h.client.decodeLease(h.data(a.lease));
    expect(lease.deposited).toBe(a.deposit + 5n * TOKEN);
    expect(lease.durationSeconds).toBe(a.durationSeconds + 600n);
    expect(h.balance(a.vault)).toBe(a.deposit + 5n * TOKEN);
    expect(h.balance(m.customerToken)).toBe(tokens - 5n * TOKEN);
    expect(h.delegation(m.customerToken).amount).toBe(allowance - 5n * TOKEN);
    expect(h.snapshot([b.lease, b.vault])).toBe(bBefore);
    expect(result.events.map((e) => e.name)).toEqual(['leaseToppedUp']);
    expect(result.events[0]!.data.payer).toEqual(m.customer.publicKey);
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
    const authorityLamports = h.svm.getBalance(m.authority.publicKey)!;
    const close = await h.ok(h.client.closeLease(closing(m, l, 2n, [500_000n])), [m.authority]);

    const lease = h.client.decodeLease(h.data(l.lease));
    expect(lease.status).toBe('closed');
    expect(lease.refunded).toBe(l.deposit - 3_500_000n);
    expectBooksBalance(lease);
    expect(lease.deposited).toBe(l.deposit);
    expect(h.balance(m.customerToken)).toBe(customerTokens + lease.refunded);
    expect(h.exists(l.vault)).toBe(false);
    // The vault's rent goes back to the settlement authority, who paid it at open (less the fee of this close).
    expect(h.svm.getBalance(m.authority.publicKey)).toBe(authorityLamports + vaultRent - 5_000n);
    expect(h.svm.getBalance(m.customer.publicKey)).toBe(customerLamports);
    expect(close.events.map((e) => e.name)).toEqual(['leaseSettled', 'leaseClosed']);
  });

  test('reclaim gives the customer the unpaid rest after expiry plus grace; the books balance', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const l = await openLease(h, m, { durationSeconds: 600n });
    h.advance(60);
    await h.ok(h.client.settle(settlement(m, l, 1n, [2_000_000n])), [m.authority]);
    const customerTokens = h.balance(m.customerToken);
    const [customerLamports, vaultRent] = [h.svm.getBalance(m.customer.publicKey)!, h.svm.getBalance(l.vault)!];
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
    // The vault's rent too: the engine's cost for not closing in time (the customer paid this fee).
    expect(h.svm.getBalance(m.customer.publicKey)).toBe(customerLamports + vaultRent - 5_000n);
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

  test('a rolling lease: each period settles and tops up in one transaction; the books balance to the unit', async () => {
    const h = new EscrowHarness();
    const m = await openMarket(h);
    const [period, rate, ahead] = [60n, 50_000n, 2n];
    // The current period plus the next two at the cap rate, and never more than that ahead of the clock.
    const window = period * (1n + ahead);
    const [tokens, allowance] = [h.balance(m.customerToken), h.delegation(m.customerToken).amount];
    const l = await openLease(h, m, { deposit: rate * window, ratePerSecond: rate, durationSeconds: window, windowSeconds: window });
    const supply = h.supply(m.mint);
    const periods = 6n;
    const paid: bigint[] = [];
    for (let p = 1n; p <= periods; p += 1n) {
      h.advance(period);
      const amounts = [1_000_000n + p, 900_000n, 1_000_000n - p * 7n];
      paid.push(...amounts);
      const settle = await h.client.settle(settlement(m, l, p, amounts));
      const result = h.send([settle, await topUp(h, m, l, rate * period, period)], [m.authority]);
      if (!result.ok) throw new Error(`period ${p}: ${result.error}`);
      expect(result.events.map((e) => e.name)).toEqual(['leaseSettled', 'leaseToppedUp']);
      const lease = h.client.decodeLease(h.data(l.lease));
      expect(lease.startTime + BigInt(lease.durationSeconds)).toBe(h.now + window);
    }
    h.advance(period / 2n);
    paid.push(500_000n);
    await h.ok(h.client.closeLease(closing(m, l, periods + 1n, [500_000n])), [m.authority]);

    const lease = h.client.decodeLease(h.data(l.lease));
    const deposited = rate * window + periods * rate * period;
    expect(lease).toMatchObject({ status: 'closed', deposited, durationSeconds: window + periods * period });
    expectBooksBalance(lease);
    const s = split(paid);
    expect([lease.fees, lease.burned]).toEqual([s.treasury, s.burn]);
    expect(lease.paidToProviders).toBe(s.net.reduce((a, b) => a + b, 0n));
    expect(lease.refunded).toBe(deposited - paid.reduce((a, b) => a + b, 0n));
    // The chain agrees with the Lease: the customer lost exactly what was spent, the allowance what was drawn.
    expect(h.balance(m.customerToken)).toBe(tokens - deposited + lease.refunded);
    expect(h.delegation(m.customerToken).amount).toBe(allowance - deposited);
    expect(supply - h.supply(m.mint)).toBe(lease.burned);
    expect(h.balance(m.treasury)).toBe(lease.fees);
    expect(m.providers.reduce((sum, p) => sum + h.balance(p.token), 0n)).toBe(lease.paidToProviders);
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
