/**
 * The escrow activities against the real chain node and PostgreSQL, with customers that keep their own keys and
 * fund leases through the allowance they approved for the escrow program: fixed and rolling leases, allowances
 * revoked or too small, a fee raised mid-lease, an escrow opened on other terms, and a reclaim after the end plus
 * grace. `paidToProviders + fees + burned + refunded = deposited` is checked exactly, on-chain (the Lease account
 * over JSON-RPC) and in the ledger, with every token account the money went to and the allowance left.
 */
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { createApproveInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Connection, Keypair, PublicKey, SystemProgram } from '@solana/web3.js';
import type { CloseEscrowRecord, SettlementRecord } from '../../../activities/contracts';
import { createEscrowActivities } from '../../../activities/escrow.activities';
import { amountDue, maxRatePerSecond, periodPayouts, receiptsDigest, type BillingLine } from '../../../domain/billing';
import { depositForSeconds, fundedSpanSeconds, fundingTarget, openingDepositOf, programWindowSeconds } from '../../../domain/rolling-deposit';
import { findEscrow, findSettlement, listSettlements, providerEarnings } from '../../../infra/db/repositories/escrow-ledger.repo';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { revokeAllowance } from '../../../infra/solana/customer-allowance';
import { allowanceAddress, feeSplit, type EscrowLease } from '../../../infra/solana/escrow-client';
import { deliver, signTransaction } from '../../../infra/solana/transaction-delivery';
import {
  allowanceOf,
  chainBooksBalance,
  chainSeconds,
  expectEscrowBooksBalance,
  fundedCustomer,
  landedTransaction,
  leaseOnChain,
  leaseRow,
  payoutAccountOf,
  providers,
  startEscrowWorld,
  tokenBalance,
  untilChainTime,
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
const RATE = maxRatePerSecond(MAX_PRICE, 1); // 27,778 base units a second for one GPU
const TOKENS = 2_000_000_000n;
/** The rolling deposit of these tests: 2-s periods, K = 2, so the escrow holds 6 s ahead and may reach 8 s ahead. */
const PERIOD = 2;
const SPAN = fundedSpanSeconds(PERIOD, 2);
const WINDOW = programWindowSeconds(PERIOD, 2);
const digestOf = (period: number) => receiptsDigest([1, 2, 3].map((i) => bytesToHex(sha256(utf8ToBytes(`receipt ${period}.${i}`)))));

const expectBooksBalance = (leaseId: string, lastPeriod: number): Promise<EscrowLease> => expectEscrowBooksBalance(world, leaseId, lastPeriod);

/** A fixed lease funded whole at open (its duration within the window), as before rolling deposits. */
async function openLease(gpuCount: number, durationSeconds: number, tokens = TOKENS) {
  const customer = await fundedCustomer(world, tokens);
  const leaseId = await leaseRow(world, customer.customerId, gpuCount, MAX_PRICE, durationSeconds);
  const rate = maxRatePerSecond(MAX_PRICE, gpuCount);
  const deposit = depositForSeconds(rate, durationSeconds);
  const input = { leaseId, customerId: customer.customerId, deposit: deposit.toString(), maxRatePerSecond: rate.toString(), durationSeconds,
    windowSeconds: durationSeconds };
  const opened = await world.activities.openEscrow(input);
  return { ...customer, leaseId, deposit, input, opened };
}

/** An open-ended lease of one GPU on the rolling deposit: the escrow holds SPAN seconds at open. */
async function openRolling(p: { tokens?: bigint; allowance?: bigint } = {}) {
  const customer = await fundedCustomer(world, p.tokens ?? TOKENS, p.allowance ?? p.tokens ?? TOKENS);
  const leaseId = await leaseRow(world, customer.customerId, 1, MAX_PRICE, null);
  const { seconds, deposit } = openingDepositOf({ maxRatePerSecond: RATE, periodSeconds: PERIOD, windowPeriods: 2, durationSeconds: null });
  const input = { leaseId, customerId: customer.customerId, deposit: deposit.toString(), maxRatePerSecond: RATE.toString(), durationSeconds: seconds,
    windowSeconds: WINDOW };
  const opened = await world.activities.openEscrow(input);
  const start = (await leaseOnChain(world, leaseId)).startTime;
  const [provider] = (await providers(world, 1)) as [string];
  /** Period `period` of the lease, settled once its end is on the chain's clock, topping up towards the rolling target. */
  const settle = async (period: number, gross: bigint | null, fundSeconds = fundingTarget(period * PERIOD, SPAN, null)) => {
    await untilChainTime(world, start + BigInt(period * PERIOD));
    const payouts = gross === null ? [] : [{ providerId: provider, amount: gross.toString(), seconds: PERIOD }];
    return world.activities.settlePeriod({ leaseId, period, payouts, receiptsDigest: digestOf(period), fundSeconds });
  };
  const paid = async () => tokenBalance(world, (await payoutAccountOf(world, provider))!);
  return { ...customer, leaseId, deposit, input, opened, provider, settle, paid };
}

test('a lease that completes: open, three settlements, close; the books balance to the unit on-chain and in the ledger', async () => {
  const { wallet, tokenAccount, leaseId, deposit, input, opened } = await openLease(3, 3600);
  expect(opened).toEqual({ address: world.client.leaseAddress(leaseId).toBase58(), deposited: deposit.toString(), fundedSeconds: 3600 });
  expect(await world.activities.openEscrow(input)).toEqual(opened); // a retry opens nothing twice
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposit);
  // Drawn through the allowance, from the wallet the customer registered: the allowance shrank by the deposit.
  expect(await allowanceOf(world, wallet)).toMatchObject({ approved: true, allowance: TOKENS - deposit, spendable: TOKENS - deposit });
  expect((await leaseOnChain(world, leaseId)).customer.toBase58()).toBe(wallet.publicKey.toBase58());
  expect((await findEscrow(world.fresh.db, leaseId))?.customer_wallet).toBe(wallet.publicKey.toBase58());

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
      // A fixed lease funded whole asks no top-up: nothing is drawn, the settlement is its transaction alone.
      expect(record.funding).toEqual({ fundedSeconds: 3600, toppedUp: '0', spendableAfter: (TOKENS - deposit).toString(), short: false });
      expect((await landedTransaction(world, record.signature)).instructions).toEqual(['settle']);
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

  const lease = await expectBooksBalance(leaseId, 4);
  expect(lease).toMatchObject({ status: 'closed', lastPeriod: 4n, deposited: deposit, paidToProviders: sum((r) => r.net),
    fees: sum((r) => r.fee), burned: sum((r) => r.burned), refunded: deposit - gross });
  const escrow = await world.fresh.db.selectFrom('escrows').selectAll().where('lease_id', '=', leaseId).executeTakeFirstOrThrow();
  expect(escrow).toMatchObject({ status: 'closed', closed_signature: close.signature, refunded: lease.refunded.toString() });

  for (const provider of [p1, p2]) {
    const mine = records.flatMap((r) => r.payouts).filter((p) => p.providerId === provider);
    const net = mine.reduce((total, p) => total + BigInt(p.net), 0n);
    expect(await tokenBalance(world, (await payoutAccountOf(world, provider))!)).toBe(net);
    expect((await providerEarnings(world.fresh.db, provider)).net).toBe(net.toString());
  }
  expect(await tokenBalance(world, world.boot.treasury)).toBe(treasuryBefore + lease.fees);
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposit + lease.refunded);
  expect((await listSettlements(world.fresh.db, leaseId)).map((s) => s.settlement.signature)).toEqual(records.map((r) => r.signature));

  // The lease closes once: a retried close (whatever period it names) is the first close; nothing settles after it.
  expect(await world.activities.closeEscrow({ leaseId, period: 9, payouts: [], receiptsDigest: digestOf(9) })).toEqual(close);
  await expect(world.activities.settlePeriod({ leaseId, period: 5, payouts: [], receiptsDigest: digestOf(5) }))
    .rejects.toMatchObject({ type: 'EscrowStateError', nonRetryable: true });
});

test('a rolling lease: every period settles and tops up in ONE transaction, the end moves with it, and the close balances to the unit', async () => {
  const { wallet, tokenAccount, leaseId, deposit, opened, settle, paid } = await openRolling();
  expect(opened).toEqual({ address: world.client.leaseAddress(leaseId).toBase58(), deposited: deposit.toString(), fundedSeconds: SPAN });
  expect(deposit).toBe(RATE * BigInt(SPAN));
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ durationSeconds: BigInt(SPAN), windowSeconds: BigInt(WINDOW), deposited: deposit });

  let deposited = deposit;
  let gross = 0n;
  const signatures: string[] = [(await findEscrow(world.fresh.db, leaseId))!.open_signature];
  // Period 3 has nothing to pay (the provider's proofs failed, say): the top-up still goes, with an empty settlement.
  const owed = [40_001n, 40_002n, null, 40_004n];
  for (const [index, amount] of owed.entries()) {
    const period = index + 1;
    const fundSeconds = fundingTarget(period * PERIOD, SPAN, null);
    const record = await settle(period, amount);
    const topUp = depositForSeconds(RATE, PERIOD);
    deposited += topUp;
    gross += amount ?? 0n;
    expect(record.funding).toEqual({ fundedSeconds: fundSeconds, toppedUp: topUp.toString(), spendableAfter: (TOKENS - deposited).toString(),
      short: false });
    // One transaction per period: the settlement's own signature carries the payouts and the top-up.
    const landed = await landedTransaction(world, record.signature);
    expect(landed.instructions).toEqual(['settle', 'topUp']);
    expect(landed.events).toEqual(['leaseSettled', 'leaseToppedUp']);
    signatures.push(record.signature);
    expect(await leaseOnChain(world, leaseId)).toMatchObject({ lastPeriod: BigInt(period), durationSeconds: BigInt(fundSeconds), deposited });
    expect((await findSettlement(world.fresh.db, leaseId, period))?.settlement).toMatchObject({ status: 'confirmed', signature: record.signature,
      top_up: topUp.toString(), top_up_seconds: String(PERIOD), gross: (amount ?? 0n).toString() });
    expect(await findEscrow(world.fresh.db, leaseId)).toMatchObject({ deposited: deposited.toString(), duration_seconds: String(fundSeconds) });
    // A retry is the same settlement: nothing paid or drawn twice.
    expect(await settle(period, amount)).toEqual(record);
    expect((await leaseOnChain(world, leaseId)).deposited).toBe(deposited);
  }
  // Every transaction that ever touched the Lease account: the open, then exactly one per period (retries sent nothing).
  const touched = await world.connection.getSignaturesForAddress(world.client.leaseAddress(leaseId));
  expect(touched.map((t) => t.signature).reverse()).toEqual(signatures);
  // The customer paid exactly what the escrow holds, through the allowance and nothing else.
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposited);
  expect((await allowanceOf(world, wallet)).allowance).toBe(TOKENS - deposited);

  const close = await world.activities.closeEscrow({ leaseId, period: 5, payouts: [{ providerId: (await providers(world, 1))[0]!, amount: '1000',
    seconds: 1 }], receiptsDigest: digestOf(5) });
  gross += 1_000n;
  expect(BigInt(close.refunded)).toBe(deposited - gross);
  const lease = await expectBooksBalance(leaseId, 5);
  expect(lease).toMatchObject({ status: 'closed', deposited, refunded: deposited - gross });
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposited + lease.refunded);
  expect(await paid()).toBe([40_001n, 40_002n, 40_004n].reduce((total, g) => total + feeSplit(g, world.boot.feeBps, world.boot.burnBps).toProvider, 0n));
});

test('a revoked allowance mid-lease: the next settlement still pays the provider, draws nothing, and says the funding fell short', async () => {
  const { wallet, tokenAccount, leaseId, deposit, settle, paid } = await openRolling();
  const first = await settle(1, 30_000n);
  expect(first.funding).toMatchObject({ fundedSeconds: SPAN + PERIOD, short: false });
  const deposited = deposit + depositForSeconds(RATE, PERIOD);

  // The customer revokes with its own key: the engine can draw nothing more, at once.
  await revokeAllowance(world.connection, wallet, world.mint);
  expect(await allowanceOf(world, wallet)).toMatchObject({ approved: false, allowance: 0n, spendable: 0n });
  const balance = await tokenBalance(world, tokenAccount);
  const paidBefore = await paid();
  const second = await settle(2, 30_000n);
  expect(second.funding).toEqual({ fundedSeconds: SPAN + PERIOD, toppedUp: '0', spendableAfter: '0', short: true });
  expect(await paid()).toBe(paidBefore + feeSplit(30_000n, world.boot.feeBps, world.boot.burnBps).toProvider);
  const landed = await landedTransaction(world, second.signature);
  expect(landed.instructions).toEqual(['settle']);
  expect(landed.events).toEqual(['leaseSettled']);
  expect(await tokenBalance(world, tokenAccount)).toBe(balance);
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ lastPeriod: 2n, deposited, durationSeconds: BigInt(SPAN + PERIOD) });
  expect((await findSettlement(world.fresh.db, leaseId, 2))?.settlement).toMatchObject({ top_up: '0', top_up_seconds: '0' });

  // Nothing to pay and nothing the allowance can buy: no transaction at all.
  const idle = await settle(3, null);
  expect(idle).toMatchObject({ signature: '', gross: '0', payouts: [], funding: { fundedSeconds: SPAN + PERIOD, toppedUp: '0', short: true } });
  expect(await findSettlement(world.fresh.db, leaseId, 3)).toBeUndefined();
  expect((await leaseOnChain(world, leaseId)).lastPeriod).toBe(2n);

  const close = await world.activities.closeEscrow({ leaseId, period: 3, payouts: [], receiptsDigest: digestOf(3) });
  expect(BigInt(close.refunded)).toBe(deposited - 60_000n);
  await expectBooksBalance(leaseId, 3);
  expect(await tokenBalance(world, tokenAccount)).toBe(balance + BigInt(close.refunded));
});

test.each<[string, { tokens?: bigint; allowance: bigint }]>([
  ['an allowance', { allowance: RATE * BigInt(SPAN) + RATE + (RATE - 1n) }],
  ['a balance', { tokens: RATE * BigInt(SPAN) + RATE + (RATE - 1n), allowance: TOKENS }],
])('%s smaller than a full top-up buys only the whole seconds it pays for', async (_limit, funds) => {
  const { wallet, tokenAccount, leaseId, deposit, settle } = await openRolling(funds);
  // After the open, 1.99 s at the rate are left to draw: one whole second of the two the target wants.
  const record = await settle(1, 20_000n);
  expect(record.funding).toEqual({ fundedSeconds: SPAN + 1, toppedUp: RATE.toString(), spendableAfter: (RATE - 1n).toString(), short: true });
  expect((await landedTransaction(world, record.signature)).instructions).toEqual(['settle', 'topUp']);
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ durationSeconds: BigInt(SPAN + 1), deposited: deposit + RATE });
  expect((await allowanceOf(world, wallet)).spendable).toBe(RATE - 1n);
  expect((await findSettlement(world.fresh.db, leaseId, 1))?.settlement).toMatchObject({ top_up: RATE.toString(), top_up_seconds: '1' });
  expect(await findEscrow(world.fresh.db, leaseId)).toMatchObject({ deposited: (deposit + RATE).toString(), duration_seconds: String(SPAN + 1) });

  const close = await world.activities.closeEscrow({ leaseId, period: 2, payouts: [], receiptsDigest: digestOf(2) });
  expect(BigInt(close.refunded)).toBe(deposit + RATE - 20_000n);
  await expectBooksBalance(leaseId, 2);
  expect(await tokenBalance(world, tokenAccount)).toBe((funds.tokens ?? TOKENS) - deposit - RATE + BigInt(close.refunded));
});

test('an open the allowance cannot fund is refused for good, naming why, and moves nothing', async () => {
  const attempt = async (customer: Awaited<ReturnType<typeof fundedCustomer>>) => {
    const leaseId = await leaseRow(world, customer.customerId, 1, MAX_PRICE, 600);
    const deposit = depositForSeconds(RATE, 600);
    await expect(world.activities.openEscrow({ leaseId, customerId: customer.customerId, deposit: deposit.toString(),
      maxRatePerSecond: RATE.toString(), durationSeconds: 600, windowSeconds: 600 })).rejects.toMatchObject({ nonRetryable: true });
    expect(await world.client.fetchLease(world.client.leaseAddress(leaseId))).toBeNull();
    expect(await tokenBalance(world, customer.tokenAccount)).toBe(TOKENS);
    return world.activities.openEscrow({ leaseId, customerId: customer.customerId, deposit: deposit.toString(), maxRatePerSecond: RATE.toString(),
      durationSeconds: 600, windowSeconds: 600 }).catch((error: { type?: string }) => error.type);
  };
  // Approved, but less than the deposit.
  expect(await attempt(await fundedCustomer(world, TOKENS, 1_000n))).toBe('InsufficientFunds');
  // Never approved.
  expect(await attempt(await fundedCustomer(world, TOKENS, null))).toBe('OwnerMismatch');
  // Approved for another customer's delegate: only the program's PDA of this very wallet can draw on it.
  const other = await fundedCustomer(world, TOKENS, null);
  const misdirected = await fundedCustomer(world, TOKENS, null);
  await approveDelegate(misdirected.wallet, allowanceAddress(other.wallet.publicKey), TOKENS);
  expect((await allowanceOf(world, misdirected.wallet)).approved).toBe(false);
  expect(await attempt(misdirected)).toBe('OwnerMismatch');
  // No registered wallet at all: the engine has nowhere to draw from.
  const { customerId } = await fundedCustomer(world, TOKENS);
  await world.fresh.db.updateTable('customers').set({ wallet_address: null }).where('id', '=', customerId).execute();
  const leaseId = await leaseRow(world, customerId, 1, MAX_PRICE, 600);
  await expect(world.activities.openEscrow({ leaseId, customerId, deposit: '1', maxRatePerSecond: '1', durationSeconds: 1, windowSeconds: 1 }))
    .rejects.toMatchObject({ type: 'EscrowStateError', nonRetryable: true, message: expect.stringMatching(/has no registered wallet/) });
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
    const lease = await expectBooksBalance(leaseId, 2);
    expect(lease).toMatchObject({ feeBps: world.boot.feeBps, burnBps: world.boot.burnBps, paidToProviders: atOpen.toProvider, fees: atOpen.toTreasury,
      burned: atOpen.toBurn, refunded: deposit - gross });
    expect(close.refunded).toBe((deposit - gross).toString());
    expect(await tokenBalance(world, (await payoutAccountOf(world, provider))!)).toBe(atOpen.toProvider);
  } finally {
    await setFee(world.boot.feeBps, world.boot.burnBps);
  }
});

test('an escrow opened on other terms than the engine asked is a final failure naming the field; the refund gives it all back', async () => {
  const { customerId, wallet, tokenAccount } = await fundedCustomer(world, TOKENS);
  const leaseId = await leaseRow(world, customerId, 1, MAX_PRICE, 600);
  const deposit = depositForSeconds(RATE, 600);
  const input = { leaseId, customerId, deposit: deposit.toString(), maxRatePerSecond: RATE.toString(), durationSeconds: 600, windowSeconds: 600 };
  // Opened first at a rate of 1 by whoever else holds the authority's key (a second engine, a bug): the program
  // lets no customer do it, and the deposit it drew is bounded by its own terms (1 a second for 600 s).
  const ix = await world.client.openLease({ customer: wallet.publicKey, settlementAuthority: world.deps.settlementAuthority.publicKey, leaseId,
    mint: world.mint, customerToken: tokenAccount, maxRatePerSecond: 1n, durationSeconds: 600n, deposit: 600n, windowSeconds: 600n });
  const tx = await signTransaction(world.connection, world.deps.settlementAuthority, [ix]);
  expect((await deliver(world.connection, tx)).outcome).toBe('confirmed');

  const refused = { type: 'EscrowTermsMismatchError', nonRetryable: true,
    message: `the Lease account of lease ${leaseId} has max_rate_per_second 1, not the ${RATE} the engine asked for` };
  await expect(world.activities.openEscrow(input)).rejects.toMatchObject(refused);
  // A retry never reports it open either.
  await expect(world.activities.openEscrow(input)).rejects.toMatchObject(refused);

  // What the workflow does next: refund the failed start.
  const refund = await world.activities.refundUnstartedEscrow({ leaseId });
  expect(refund).toMatchObject({ kind: 'close', gross: '0', refunded: '600' });
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS);
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ status: 'closed', refunded: 600n });
  await expectBooksBalance(leaseId, 1);
});

// Last: it moves the chain's clock hours ahead for good.
test('delivery: bytes just signed are sent before anything is asked, and confirmed in 3 requests; bytes from the ledger are asked after before they are sent again', async () => {
  const methods: string[] = [];
  const counting = countingConnection(methods);
  const payer = world.deps.settlementAuthority;
  const to = Keypair.generate().publicKey;
  const tx = await signTransaction(world.connection, payer, [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1_000_000 })]);
  expect(await deliver(counting, tx, { justSigned: true })).toEqual({ outcome: 'confirmed' });
  expect(methods).toEqual(['sendTransaction', 'getBlockHeight', 'getSignatureStatuses']);

  // The same bytes again, as a retry finds them pending in the ledger after a crash: found landed, not sent twice.
  methods.length = 0;
  expect(await deliver(counting, tx)).toEqual({ outcome: 'confirmed' });
  expect(methods).toEqual(['getBlockHeight', 'getSignatureStatuses']);
  expect(await world.connection.getBalance(to)).toBe(1_000_000);
});

test('a settle with a top-up reads the chain once before it signs: the Lease account, the allowance and the clock in one request', async () => {
  const { leaseId, provider, settle } = await openRolling();
  await settle(1, 5_000n); // the provider's payout account exists from here on
  const methods: string[] = [];
  const activities = createEscrowActivities({ ...world.deps, connection: countingConnection(methods) });
  await untilChainTime(world, (await leaseOnChain(world, leaseId)).startTime + BigInt(2 * PERIOD));
  const record = await activities.settlePeriod({ leaseId, period: 2, payouts: [{ providerId: provider, amount: '6000', seconds: PERIOD }],
    receiptsDigest: digestOf(2), fundSeconds: fundingTarget(2 * PERIOD, SPAN, null) });
  expect(BigInt(record.funding!.toppedUp)).toBeGreaterThan(0n);
  expect(methods).toEqual([
    'getMultipleAccounts', // the Lease account, the customer's token account (its allowance), the Clock sysvar
    'getAccountInfo', // the program's Config, once per process and then every so often (these activities are new)
    'getLatestBlockhash',
    'sendTransaction', // sent before anything is asked: the bytes were just signed
    'getBlockHeight',
    'getSignatureStatuses',
    'getAccountInfo', // the allowance left after the top-up drew on it, for the customer's funds warnings
  ]);
});


test('a reclaim after the end plus grace: the engine pays nothing more, fails EscrowReclaimedError, and records the chain\'s figures', async () => {
  const { wallet, tokenAccount, leaseId, deposit, settle, paid, provider } = await openRolling();
  await settle(1, 30_000n);
  // Period 2 is signed and recorded, and never lands before the customer reclaims.
  await untilChainTime(world, (await leaseOnChain(world, leaseId)).startTime + BigInt(2 * PERIOD));
  const request = { leaseId, period: 2, payouts: [{ providerId: provider, amount: '30000', seconds: PERIOD }], receiptsDigest: digestOf(2),
    fundSeconds: fundingTarget(2 * PERIOD, SPAN, null) };
  expect(await world.steps.prepareSettlement(request)).not.toBeNull();

  const before = await leaseOnChain(world, leaseId);
  world.advanceChainClock(Number(before.durationSeconds + before.reclaimGraceSeconds) + 5);
  const ix = await world.client.reclaim({ customer: wallet.publicKey, lease: world.client.leaseAddress(leaseId), customerToken: tokenAccount });
  expect((await deliver(world.connection, await signTransaction(world.connection, wallet, [ix]))).outcome).toBe('confirmed');
  const reclaimed = await leaseOnChain(world, leaseId);
  const deposited = deposit + depositForSeconds(RATE, PERIOD);
  expect(reclaimed).toMatchObject({ status: 'reclaimed', deposited, refunded: deposited - 30_000n, lastPeriod: 1n });
  expect(chainBooksBalance(reclaimed)).toBe(0n);

  const paidBefore = await paid();
  const isReclaimed = { type: 'EscrowReclaimedError', nonRetryable: true, message: expect.stringContaining(`${reclaimed.refunded} base units refunded`) };
  await expect(world.activities.settlePeriod(request)).rejects.toMatchObject(isReclaimed);
  await expect(world.activities.settlePeriod({ ...request, period: 3 })).rejects.toMatchObject(isReclaimed);
  await expect(world.activities.closeEscrow({ ...request, period: 3 })).rejects.toMatchObject(isReclaimed);
  expect(await world.activities.refundUnstartedEscrow({ leaseId })).toBeNull();
  expect(await paid()).toBe(paidBefore);

  expect(await findEscrow(world.fresh.db, leaseId)).toMatchObject({ status: 'reclaimed', deposited: deposited.toString(),
    refunded: reclaimed.refunded.toString() });
  // The period signed before the reclaim never landed and stays out of the books.
  expect((await findSettlement(world.fresh.db, leaseId, 2))?.settlement.status).toBe('pending');
  await expectBooksBalance(leaseId, 1);
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposited + reclaimed.refunded);
});

/** Approves `delegate` (any address) for `amount` on the wallet's token account: what a careless or hostile client could do. */
async function approveDelegate(wallet: Keypair, delegate: PublicKey, amount: bigint): Promise<void> {
  const account = getAssociatedTokenAddressSync(world.mint, wallet.publicKey);
  const tx = await signTransaction(world.connection, wallet, [createApproveInstruction(account, delegate, wallet.publicKey, amount)]);
  expect((await deliver(world.connection, tx)).outcome).toBe('confirmed');
}

/** A connection to the world's chain node that notes the JSON-RPC method of every request it sends. */
function countingConnection(methods: string[]): Connection {
  return new Connection(world.connection.rpcEndpoint, {
    commitment: 'confirmed',
    fetch: (input, init) => {
      const body = JSON.parse(String(init?.body)) as { method: string } | { method: string }[];
      methods.push(...[body].flat().map((request) => request.method));
      return fetch(input, init);
    },
  });
}
