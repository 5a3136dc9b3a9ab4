/**
 * The escrow activities against the real chain node and PostgreSQL: a lease that completes (open, three
 * settlements, close), one that never started, one extended, one whose fee the admin raised mid-lease, and
 * one found opened on other terms than the engine asked. The money invariant
 * `paidToProviders + fees + burned + refunded = deposited` is checked exactly, on-chain (the Lease account
 * read over JSON-RPC) and in the ledger, together with every token account the money went to.
 */
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { PublicKey } from '@solana/web3.js';
import type { CloseEscrowRecord, SettlementRecord } from '../../../activities/contracts';
import { termsMismatch, type OpenTerms } from '../../../activities/escrow-deposit.effect';
import { createEscrowActivities } from '../../../activities/escrow.activities';
import { amountDue, maxRatePerSecond, periodPayouts, receiptsDigest, type BillingLine } from '../../../domain/billing';
import { depositFor } from '../../../domain/money';
import { escrowBooks, listSettlements, providerEarnings } from '../../../infra/db/repositories/escrow-ledger.repo';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { customerCanCover } from '../../../infra/solana/customer-balance';
import { feeSplit, type EscrowLease } from '../../../infra/solana/escrow-client';
import { deliver, signTransaction } from '../../../infra/solana/transaction-delivery';
import {
  chainBooksBalance,
  chainSeconds,
  fundedCustomer,
  leaseOnChain,
  leaseRow,
  payoutAccountOf,
  providers,
  startEscrowWorld,
  tokenBalance,
  type EscrowWorld,
} from './escrow-world';

let world: EscrowWorld;

beforeAll(async () => {
  world = await startEscrowWorld();
});

afterAll(async () => {
  await world?.close();
});

const MAX_PRICE = 100_000_000n; // 100 tokens per GPU-hour: the rate cap leaves room to settle seconds after opening
const digestOf = (period: number) => receiptsDigest([1, 2, 3].map((i) => bytesToHex(sha256(utf8ToBytes(`receipt ${period}.${i}`)))));

async function openLease(gpuCount: number, durationSeconds: number, tokens = 2_000_000_000n) {
  const customer = await fundedCustomer(world, tokens);
  const leaseId = await leaseRow(world, customer.customerId, gpuCount, MAX_PRICE, durationSeconds);
  const deposit = depositFor(MAX_PRICE, gpuCount, durationSeconds);
  const input = { leaseId, customerId: customer.customerId, deposit: deposit.toString(),
    maxRatePerSecond: maxRatePerSecond(MAX_PRICE, gpuCount).toString(), durationSeconds };
  const opened = await world.activities.openEscrow(input);
  return { ...customer, leaseId, deposit, input, opened };
}

test('a lease that completes: open, three settlements, close; the books balance to the unit on-chain and in the ledger', async () => {
  const { customerId, wallet, tokenAccount, leaseId, deposit, input, opened } = await openLease(3, 3600);
  expect(opened).toEqual({ address: world.client.leaseAddress(leaseId).toBase58(), deposited: deposit.toString() });
  expect(await world.activities.openEscrow(input)).toEqual(opened); // a retry opens nothing twice
  expect(await tokenBalance(world, tokenAccount)).toBe(2_000_000_000n - deposit);
  const customer = await world.fresh.db.selectFrom('customers').select('wallet_address').where('id', '=', customerId).executeTakeFirstOrThrow();
  expect(customer.wallet_address).toBe(wallet.publicKey.toBase58());

  const [p1, p2] = (await providers(world, 2)) as [string, string];
  const lines: BillingLine[] = [
    { assignmentId: 'a1', providerId: p1, pricePerGpuHour: '1234567', verifiedSeconds: 0, billed: '0', billedSeconds: 0 },
    { assignmentId: 'a2', providerId: p1, pricePerGpuHour: '1234567', verifiedSeconds: 0, billed: '0', billedSeconds: 0 },
    { assignmentId: 'a3', providerId: p2, pricePerGpuHour: '2000001', verifiedSeconds: 0, billed: '0', billedSeconds: 0 },
  ];
  const treasuryBefore = await tokenBalance(world, world.boot.treasury);
  await chainSeconds(1);

  // Periods 1-3 settle, period 4 (partial) closes; a1 and a2 are one provider's two GPUs.
  const seconds = [[17, 17, 23], [20, 19, 20], [21, 20, 6], [7, 7, 0]];
  const records: (SettlementRecord | CloseEscrowRecord)[] = [];
  for (const [index, added] of seconds.entries()) {
    const period = index + 1;
    lines.forEach((line, i) => (line.verifiedSeconds += added[i]!));
    const { payouts, billed, billedSeconds } = periodPayouts(lines);
    const request = { leaseId, period, payouts, receiptsDigest: digestOf(period) };
    const record = period < 4 ? await world.activities.settlePeriod(request) : await world.activities.closeEscrow(request);
    records.push(record);
    expect(record).toMatchObject({ leaseId, period, kind: period < 4 ? 'settle' : 'close', receiptsDigest: digestOf(period) });
    expect(record.payouts.map((p) => [p.providerId, p.gross, p.seconds])).toEqual(payouts.map((p) => [p.providerId, p.amount, p.seconds]));
    for (const p of record.payouts) expect(BigInt(p.net) + BigInt(p.fee) + BigInt(p.burn)).toBe(BigInt(p.gross));
    expect(BigInt(record.net) + BigInt(record.fee) + BigInt(record.burned)).toBe(BigInt(record.gross));
    expect(Buffer.from((await leaseOnChain(world, leaseId)).receiptsDigest).toString('hex')).toBe(digestOf(period));
    if (period < 4) {
      // A retry of the same period returns the first settlement and pays nothing again.
      const balances = await Promise.all([p1, p2].map(async (p) => tokenBalance(world, (await payoutAccountOf(world, p))!)));
      expect(await world.activities.settlePeriod(request)).toEqual(record);
      expect(await Promise.all([p1, p2].map(async (p) => tokenBalance(world, (await payoutAccountOf(world, p))!)))).toEqual(balances);
    }
    lines.forEach((line) => {
      line.billed = billed[line.assignmentId]!;
      line.billedSeconds = billedSeconds[line.assignmentId]!;
    });
  }

  const sum = (pick: (r: SettlementRecord) => string) => records.reduce((total, r) => total + BigInt(pick(r)), 0n);
  const close = records[3] as CloseEscrowRecord;
  const gross = sum((r) => r.gross);
  // No drift: what was paid in four periods is exactly what each GPU's whole time costs.
  expect(gross).toBe(lines.reduce((total, l) => total + amountDue(BigInt(l.pricePerGpuHour), l.verifiedSeconds), 0n));
  expect(BigInt(close.refunded)).toBe(deposit - gross);

  const lease = await leaseOnChain(world, leaseId);
  expect(lease).toMatchObject({ status: 'closed', lastPeriod: 4n, deposited: deposit, paidToProviders: sum((r) => r.net),
    fees: sum((r) => r.fee), burned: sum((r) => r.burned), refunded: deposit - gross });
  expect(chainBooksBalance(lease)).toBe(0n);

  const books = await escrowBooks(world.fresh.db, leaseId);
  expect(books).toEqual({ deposited: lease.deposited.toString(), paidToProviders: lease.paidToProviders.toString(),
    fees: lease.fees.toString(), burned: lease.burned.toString(), refunded: lease.refunded.toString(), lastPeriod: 4 });
  const escrow = await world.fresh.db.selectFrom('escrows').selectAll().where('lease_id', '=', leaseId).executeTakeFirstOrThrow();
  expect(escrow).toMatchObject({ status: 'closed', closed_signature: close.signature, refunded: lease.refunded.toString() });

  for (const provider of [p1, p2]) {
    const mine = records.flatMap((r) => r.payouts).filter((p) => p.providerId === provider);
    const net = mine.reduce((total, p) => total + BigInt(p.net), 0n);
    expect(await tokenBalance(world, (await payoutAccountOf(world, provider))!)).toBe(net);
    expect((await providerEarnings(world.fresh.db, provider)).net).toBe(net.toString());
  }
  expect(await tokenBalance(world, world.boot.treasury)).toBe(treasuryBefore + lease.fees);
  expect(await tokenBalance(world, tokenAccount)).toBe(2_000_000_000n - deposit + lease.refunded);
  expect((await listSettlements(world.fresh.db, leaseId)).map((s) => s.settlement.signature)).toEqual(records.map((r) => r.signature));

  // The lease closes once: a retried close (whatever period it names) is the first close; nothing settles after it.
  expect(await world.activities.closeEscrow({ leaseId, period: 9, payouts: [], receiptsDigest: digestOf(9) })).toEqual(close);
  await expect(world.activities.settlePeriod({ leaseId, period: 5, payouts: [], receiptsDigest: digestOf(5) }))
    .rejects.toMatchObject({ type: 'EscrowStateError', nonRetryable: true });
});

test('a failed start refunds the whole deposit, once', async () => {
  const { leaseId, deposit, tokenAccount } = await openLease(2, 600);
  const refund = await world.activities.refundUnstartedEscrow({ leaseId });
  expect(refund).toMatchObject({ leaseId, period: 1, kind: 'close', payouts: [], gross: '0', refunded: deposit.toString() });
  expect(await world.activities.refundUnstartedEscrow({ leaseId })).toEqual(refund);
  expect(await tokenBalance(world, tokenAccount)).toBe(2_000_000_000n);
  const lease = await leaseOnChain(world, leaseId);
  expect(lease).toMatchObject({ status: 'closed', deposited: deposit, refunded: deposit, paidToProviders: 0n });
  expect(chainBooksBalance(lease)).toBe(0n);
  // The vault is closed; its rent went back to the customer.
  expect(await world.connection.getAccountInfo(new PublicKey(lease.vault))).toBeNull();

  const never = await leaseRow(world, (await fundedCustomer(world, 1n)).customerId, 1, MAX_PRICE, 60);
  expect(await world.activities.refundUnstartedEscrow({ leaseId: never })).toBeNull();
});

test('extend tops up: the deposit and the end move once per top-up, and the close refunds the top-up too', async () => {
  const { leaseId, deposit, tokenAccount } = await openLease(1, 600);
  const extra = depositFor(MAX_PRICE, 1, 300);
  const topUp = { leaseId, topUpId: 'extend-1', amount: extra.toString(), extendSeconds: 300 };
  const result = await world.activities.topUpEscrow(topUp);
  expect(result).toMatchObject({ deposited: (deposit + extra).toString(), durationSeconds: 900 });
  expect(await world.activities.topUpEscrow(topUp)).toEqual(result);
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ deposited: deposit + extra, durationSeconds: 900n });
  expect(await tokenBalance(world, tokenAccount)).toBe(2_000_000_000n - deposit - extra);

  const [provider] = (await providers(world, 1)) as [string];
  await chainSeconds(1);
  await world.activities.settlePeriod({ leaseId, period: 1, payouts: [{ providerId: provider, amount: '12345', seconds: 10 }],
    receiptsDigest: digestOf(1) });
  const close = await world.activities.closeEscrow({ leaseId, period: 2, payouts: [], receiptsDigest: digestOf(2) });
  expect(close.refunded).toBe((deposit + extra - 12_345n).toString());
  const lease = await leaseOnChain(world, leaseId);
  expect(chainBooksBalance(lease)).toBe(0n);
  const books = (await escrowBooks(world.fresh.db, leaseId))!;
  expect(BigInt(books.paidToProviders) + BigInt(books.fees) + BigInt(books.burned) + BigInt(books.refunded)).toBe(BigInt(books.deposited));
  expect(books.deposited).toBe((deposit + extra).toString());
});

test('customerCanCover names the shortfall before anything is reserved', async () => {
  const { customerId } = await fundedCustomer(world, 5_000_000n);
  expect(await customerCanCover(world.connection, world.wallets, customerId, 4_000_000n))
    .toMatchObject({ ok: true, balance: '5000000', shortfall: '0' });
  expect(await customerCanCover(world.connection, world.wallets, customerId, 7_000_001n))
    .toMatchObject({ ok: false, balance: '5000000', shortfall: '2000001' });
  expect(await customerCanCover(world.connection, world.wallets, 'no-wallet', 1n))
    .toEqual({ ok: false, balance: '0', shortfall: '1', wallet: null });
});

test('a fee raised mid-lease: the engine splits the next settlement at the lease\'s own shares, as the chain does', async () => {
  const { leaseId, deposit } = await openLease(1, 600);
  const admin = readKeypair(path.join(world.boot.keysDir, 'escrow-admin.json'));
  const setFee = async (feeBps: number, burnBps: number) => {
    const ix = await world.client.updateConfig({ admin: admin.publicKey, newAdmin: admin.publicKey, treasury: new PublicKey(world.boot.treasury),
      settlementAuthority: new PublicKey(world.boot.settlementAuthority), feeBps, burnBps, reclaimGraceSeconds: BigInt(world.boot.reclaimGraceSeconds) });
    expect((await deliver(world.connection, await signTransaction(world.connection, admin, [ix]))).outcome).toBe('confirmed');
  };
  await setFee(3_000, 5_000);
  try {
    // A control worker started after the update: its cached Config has the new fee, the lease does not.
    const activities = createEscrowActivities(world.deps);
    const [provider] = (await providers(world, 1)) as [string];
    await chainSeconds(1);
    const gross = 20_000n;
    const settled = await activities.settlePeriod({ leaseId, period: 1, payouts: [{ providerId: provider, amount: gross.toString(), seconds: 1 }],
      receiptsDigest: digestOf(1) });
    const atOpen = feeSplit(gross, world.boot.feeBps, world.boot.burnBps);
    expect(atOpen).not.toEqual(feeSplit(gross, 3_000, 5_000));
    expect(settled.payouts[0]).toMatchObject({ gross: gross.toString(), net: atOpen.toProvider.toString(), fee: atOpen.toTreasury.toString(),
      burn: atOpen.toBurn.toString() });
    const close = await activities.closeEscrow({ leaseId, period: 2, payouts: [], receiptsDigest: digestOf(2) });
    const lease = await leaseOnChain(world, leaseId);
    expect(lease).toMatchObject({ feeBps: world.boot.feeBps, burnBps: world.boot.burnBps, paidToProviders: atOpen.toProvider, fees: atOpen.toTreasury,
      burned: atOpen.toBurn, refunded: deposit - gross });
    expect(close.refunded).toBe((deposit - gross).toString());
    expect(await tokenBalance(world, (await payoutAccountOf(world, provider))!)).toBe(atOpen.toProvider);
    expect(await escrowBooks(world.fresh.db, leaseId)).toEqual({ deposited: lease.deposited.toString(), paidToProviders: lease.paidToProviders.toString(),
      fees: lease.fees.toString(), burned: lease.burned.toString(), refunded: lease.refunded.toString(), lastPeriod: 2 });
  } finally {
    await setFee(world.boot.feeBps, world.boot.burnBps);
  }
});

test('an escrow opened on other terms than the engine asked is a final failure naming the field; the refund gives it all back', async () => {
  const { customerId, wallet, tokenAccount } = await fundedCustomer(world, 2_000_000_000n);
  const leaseId = await leaseRow(world, customerId, 1, MAX_PRICE, 600);
  const deposit = depositFor(MAX_PRICE, 1, 600);
  const rate = maxRatePerSecond(MAX_PRICE, 1);
  const input = { leaseId, customerId, deposit: deposit.toString(), maxRatePerSecond: rate.toString(), durationSeconds: 600 };
  // Opened first at a rate of 1 by whoever else holds the authority's key (a second engine, a bug): the program
  // no longer lets the customer do it alone.
  const ix = await world.client.openLease({ customer: wallet.publicKey, settlementAuthority: world.deps.settlementAuthority.publicKey, leaseId,
    mint: new PublicKey(world.boot.mint), customerToken: tokenAccount, maxRatePerSecond: 1n, durationSeconds: 600n, deposit });
  const tx = await signTransaction(world.connection, world.deps.settlementAuthority, [ix], [wallet]);
  expect((await deliver(world.connection, tx)).outcome).toBe('confirmed');

  const refused = { type: 'EscrowTermsMismatchError', nonRetryable: true,
    message: `the Lease account of lease ${leaseId} has max_rate_per_second 1, not the ${rate} the engine asked for` };
  await expect(world.activities.openEscrow(input)).rejects.toMatchObject(refused);
  // A retry never reports it open either.
  await expect(world.activities.openEscrow(input)).rejects.toMatchObject(refused);

  // What the workflow does next: refund the failed start.
  const refund = await world.activities.refundUnstartedEscrow({ leaseId });
  expect(refund).toMatchObject({ kind: 'close', gross: '0', refunded: deposit.toString() });
  expect(await tokenBalance(world, tokenAccount)).toBe(2_000_000_000n);
  const lease = await leaseOnChain(world, leaseId);
  expect(lease).toMatchObject({ status: 'closed', refunded: deposit });
  expect(chainBooksBalance(lease)).toBe(0n);
});

test('termsMismatch names the first of the Lease account\'s terms that differs', () => {
  const asked: OpenTerms = { customer: new PublicKey(7).toBase58(), mint: new PublicKey(8).toBase58(), max_rate_per_second: 27_778n,
    duration_seconds: 600n, deposited: 16_666_667n };
  const lease = { customer: new PublicKey(7), mint: new PublicKey(8), maxRatePerSecond: 27_778n, durationSeconds: 600n,
    deposited: 16_666_667n } as EscrowLease;
  expect(termsMismatch(lease, asked)).toBeNull();
  const changes: [keyof OpenTerms, Partial<EscrowLease>][] = [['customer', { customer: new PublicKey(9) }], ['mint', { mint: new PublicKey(9) }],
    ['max_rate_per_second', { maxRatePerSecond: 1n }], ['duration_seconds', { durationSeconds: 601n }], ['deposited', { deposited: 1n }]];
  for (const [field, change] of changes) expect(termsMismatch({ ...lease, ...change }, asked)?.field).toBe(field);
});
