/**
 * The rolling deposit against the real chain node and PostgreSQL: each period settles and tops the escrow up from the
 * customer's allowance in one transaction; an allowance revoked, too small or never given; what a settle with a top-up
 * asks of the chain; and the customer's reclaim after the end plus grace. `paidToProviders + fees + burned + refunded
 * = deposited` is checked exactly, on-chain and in the ledger, with the customer's token account and allowance left.
 */
import { createApproveInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import type { Keypair, PublicKey } from '@solana/web3.js';
import { createEscrowActivities } from '../../../activities/escrow.activities';
import { depositForSeconds, fundingTarget } from '../../../domain/rolling-deposit';
import { findEscrow, findSettlement } from '../../../infra/db/repositories/escrow-ledger.repo';
import { revokeAllowance } from '../../../infra/solana/customer-allowance';
import { allowanceAddress, feeSplit, type EscrowLease } from '../../../infra/solana/escrow-client';
import { deliver, signTransaction } from '../../../infra/solana/transaction-delivery';
import { MAX_PRICE, PERIOD, RATE, SPAN, TOKENS, WINDOW, countingConnection, digestOf, openRolling } from './escrow-leases';
import {
  allowanceOf,
  chainBooksBalance,
  expectEscrowBooksBalance,
  fundedCustomer,
  landedTransaction,
  leaseOnChain,
  leaseRow,
  providers,
  escrowWorldPerFile,
  tokenBalance,
  untilChainTime,
  type EscrowWorld,
} from './escrow-world';

let world: EscrowWorld;
escrowWorldPerFile((started) => (world = started));

const expectBooksBalance = (leaseId: string, lastPeriod: number): Promise<EscrowLease> => expectEscrowBooksBalance(world, leaseId, lastPeriod);

test('a rolling lease: every period settles and tops up in ONE transaction, the end moves with it, and the close balances to the unit', async () => {
  const { wallet, tokenAccount, leaseId, deposit, opened, settle, paid } = await openRolling(world);
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
  const { wallet, tokenAccount, leaseId, deposit, settle, paid } = await openRolling(world);
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
  const { wallet, tokenAccount, leaseId, deposit, settle } = await openRolling(world, funds);
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

test('a settle with a top-up reads the chain once before it signs: the Lease account, the allowance and the clock in one request', async () => {
  const { leaseId, provider, settle } = await openRolling(world);
  await settle(1, 5_000n); // the provider's payout account exists from here on
  const methods: string[] = [];
  const activities = createEscrowActivities({ ...world.deps, connection: countingConnection(world, methods) });
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

// Last: it moves the chain's clock hours ahead for good.
test('a reclaim after the end plus grace: the engine pays nothing more, fails EscrowReclaimedError, and records the chain\'s figures', async () => {
  const { wallet, tokenAccount, leaseId, deposit, settle, paid, provider } = await openRolling(world);
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
