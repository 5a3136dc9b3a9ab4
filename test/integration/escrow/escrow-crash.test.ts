/**
 * Crashes and retries around the write-ahead step, staged with the activity's own halves (sign + record
 * pending, then send) against the real chain node: whatever happened between sending and recording, a
 * retried settlement pays once, and the program's strictly increasing periods refuse the stale bytes. A settlement
 * carries the rolling deposit's top-up in the same transaction: it is drawn once too, and an allowance the customer
 * revoked after the top-up was planned delays the period's payouts at most one blockhash lifetime, never sinks them.
 */
import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import { maxRatePerSecond, receiptsDigest } from '../../../domain/billing';
import { depositForSeconds } from '../../../domain/rolling-deposit';
import { escrowBooks, findEscrow, findSettlement } from '../../../infra/db/repositories/escrow-ledger.repo';
import { revokeAllowance } from '../../../infra/solana/customer-allowance';
import {
  allowanceOf,
  approve,
  chainBooksBalance,
  chainSeconds,
  fundedCustomer,
  landedTransaction,
  leaseOnChain,
  leaseRow,
  payoutAccountOf,
  providers,
  escrowWorldPerFile,
  tokenBalance,
  untilChainTime,
  type EscrowWorld,
} from './escrow-world';

let world: EscrowWorld;
escrowWorldPerFile((started) => (world = started));

const MAX_PRICE = 36_000_000n; // 10,000 base units per second for one GPU
const RATE = maxRatePerSecond(MAX_PRICE, 1);
const TOKENS = 1_000_000_000n;
const DIGEST = receiptsDigest([]);

/** A lease funded for `durationSeconds` at open, which may reach `windowSeconds` ahead (the rolling deposit's window). */
async function openInput(durationSeconds = 3600, windowSeconds = durationSeconds) {
  const { customerId, tokenAccount, wallet } = await fundedCustomer(world, TOKENS);
  const leaseId = await leaseRow(world, customerId, 1, MAX_PRICE, durationSeconds);
  return { tokenAccount, wallet, input: { leaseId, customerId, deposit: depositForSeconds(RATE, durationSeconds).toString(),
    maxRatePerSecond: RATE.toString(), durationSeconds, windowSeconds } };
}

test('a retried settlement never pays twice, whether the worker died after sending, before sending, or its blockhash ran out', async () => {
  const { input } = await openInput();
  const { leaseId } = input;
  await world.activities.openEscrow(input);
  const [provider] = (await providers(world, 1)) as [string];
  await chainSeconds(2);
  const request = (period: number, amount: string) => ({ leaseId, period, payouts: [{ providerId: provider, amount, seconds: 1 }],
    receiptsDigest: DIGEST });
  const paid = async () => tokenBalance(world, (await payoutAccountOf(world, provider))!);
  const net = (gross: bigint) => gross - (gross * 500n) / 10_000n; // the bootstrap's 5 % fee

  // 1. Sent and landed, then the worker died before recording it: the retry finds it confirmed and sends nothing.
  const sent = (await world.steps.prepareSettlement(request(1, '5000')))!;
  expect((await findSettlement(world.fresh.db, leaseId, 1))?.settlement).toMatchObject({ status: 'pending', signature: sent.signature });
  expect(await world.steps.send(sent)).toEqual({ outcome: 'confirmed' });
  expect(await paid()).toBe(net(5_000n));
  const first = await world.activities.settlePeriod(request(1, '5000'));
  expect(first.signature).toBe(sent.signature);
  expect((await findSettlement(world.fresh.db, leaseId, 1))?.settlement.status).toBe('confirmed');
  expect(await paid()).toBe(net(5_000n));
  expect((await leaseOnChain(world, leaseId)).lastPeriod).toBe(1n);

  // 2. Recorded but never sent: the retry sends exactly the transaction it recorded.
  const unsent = (await world.steps.prepareSettlement(request(2, '6000')))!;
  const second = await world.activities.settlePeriod(request(2, '6000'));
  expect(second.signature).toBe(unsent.signature);
  expect(await paid()).toBe(net(5_000n) + net(6_000n));

  // 3. Recorded, not sent, and (as the ledger sees it) past its last valid block height: the retry checks the
  // chain (period 3 not settled), signs a fresh transaction and replaces the pending one.
  const stale = (await world.steps.prepareSettlement(request(3, '7000')))!;
  await world.fresh.db.updateTable('settlements').set({ last_valid_block_height: 0 })
    .where('lease_id', '=', leaseId).where('period', '=', '3').execute();
  await chainSeconds(1); // a newer blockhash, or the fresh signature would be the same bytes again
  const third = await world.activities.settlePeriod(request(3, '7000'));
  expect(third.signature).not.toBe(stale.signature);
  expect(await paid()).toBe(net(5_000n) + net(6_000n) + net(7_000n));
  // The backstop: the stale bytes, sent late, are refused by the program and move nothing.
  expect(await world.steps.send(stale)).toMatchObject({ outcome: 'rejected', failure: { reason: 'PeriodNotIncreasing' } });
  expect(await paid()).toBe(net(5_000n) + net(6_000n) + net(7_000n));

  // 4. Landed, but the RPC no longer knows its signature (a pruned history) and its blockhash is past: the
  // Lease's last_period shows it landed, so nothing is signed again.
  const forgotten = (await world.steps.prepareSettlement(request(4, '1000')))!;
  expect((await world.steps.send(forgotten)).outcome).toBe('confirmed');
  const unknown = bs58.encode(randomBytes(64));
  await world.fresh.db.updateTable('settlements').set({ signature: unknown, last_valid_block_height: 0 })
    .where('lease_id', '=', leaseId).where('period', '=', '4').execute();
  expect((await world.activities.settlePeriod(request(4, '1000'))).signature).toBe(unknown);
  expect(await paid()).toBe(net(5_000n) + net(6_000n) + net(7_000n) + net(1_000n));

  // A retry of any of them, in any order, changes nothing.
  expect(await world.activities.settlePeriod(request(2, '6000'))).toEqual(second);
  expect(await world.activities.settlePeriod(request(1, '5000'))).toEqual(first);
  // Asked for the same period with other receipts: refused for good, since the workflow would count as paid what
  // the chain never paid; the ledger keeps what it had.
  await expect(world.activities.settlePeriod({ ...request(2, '9000'), receiptsDigest: receiptsDigest(['ab'.repeat(32)]) }))
    .rejects.toMatchObject({ type: 'EscrowStateError', nonRetryable: true, message: expect.stringMatching(/other receipts/) });
  expect((await findSettlement(world.fresh.db, leaseId, 2))?.settlement).toMatchObject({ signature: second.signature, gross: '6000' });
  const close = await world.activities.closeEscrow({ leaseId, period: 5, payouts: [], receiptsDigest: DIGEST });
  expect(chainBooksBalance(await leaseOnChain(world, leaseId))).toBe(0n);
  expect(BigInt(close.refunded)).toBe(BigInt(input.deposit) - 19_000n);
});

test('a settlement above the rate is refused and stays pending; the same transaction lands once time has caught up', async () => {
  const { input } = await openInput();
  const { leaseId } = input;
  await world.activities.openEscrow(input);
  const [provider] = (await providers(world, 1)) as [string];
  // Three seconds at the cap: more than the lease can have spent in the second it has been open.
  const request = { leaseId, period: 1, payouts: [{ providerId: provider, amount: '30000', seconds: 3 }], receiptsDigest: DIGEST };
  await expect(world.activities.settlePeriod(request)).rejects.toMatchObject({ type: 'RateExceeded', nonRetryable: false });
  const pending = (await findSettlement(world.fresh.db, leaseId, 1))!.settlement;
  expect(pending.status).toBe('pending');
  await chainSeconds(3);
  const record = await world.activities.settlePeriod(request);
  expect(record.signature).toBe(pending.signature);
  expect(await tokenBalance(world, (await payoutAccountOf(world, provider))!)).toBe(30_000n - 1_500n);
});

test('a settlement refused for good keeps its period: the close that follows lands after it, refunds the rest, and the refused one is never sent', async () => {
  const { input, tokenAccount } = await openInput(2);
  const { leaseId } = input;
  await world.activities.openEscrow(input);
  const [provider] = (await providers(world, 1)) as [string];
  await chainSeconds(2);
  // A second more than the 2 s the deposit holds: what a workflow behind by more than its window would once ask.
  const refused = { leaseId, period: 1, payouts: [{ providerId: provider, amount: (RATE * 3n).toString(), seconds: 3 }], receiptsDigest: DIGEST };
  await expect(world.activities.settlePeriod(refused)).rejects.toMatchObject({ type: 'DepositExceeded', nonRetryable: true });
  expect((await findSettlement(world.fresh.db, leaseId, 1))!.settlement).toMatchObject({ kind: 'settle', status: 'pending' });

  // The workflow then closes the lease with the bill it never had paid (here, the 2 s the deposit holds).
  const close = await world.activities.closeEscrow({ ...refused, payouts: [{ providerId: provider, amount: (RATE * 2n).toString(), seconds: 2 }] });
  expect(close).toMatchObject({ period: 2, kind: 'close', gross: (RATE * 2n).toString(), refunded: '0' });
  expect(await leaseOnChain(world, leaseId)).toMatchObject({ status: 'closed', lastPeriod: 2n, refunded: 0n });
  expect(chainBooksBalance(await leaseOnChain(world, leaseId))).toBe(0n);
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - RATE * 2n);
  // A retry of the refused settlement sends nothing: the close paid what it would have.
  await expect(world.activities.settlePeriod(refused)).rejects.toMatchObject({ type: 'EscrowStateError', message: expect.stringMatching(/closing/) });
  expect(await world.activities.closeEscrow(refused)).toEqual(close);
});

test('a failed start whose open_lease is still pending: the pending open lands and is refunded, never sent anew', async () => {
  const { input, tokenAccount } = await openInput(600);
  const opening = (await world.steps.prepareOpen(input))!;
  expect((await findEscrow(world.fresh.db, input.leaseId))).toMatchObject({ status: 'opening', open_signature: opening.signature });
  const refund = await world.activities.refundUnstartedEscrow({ leaseId: input.leaseId });
  expect(refund).toMatchObject({ period: 1, kind: 'close', refunded: input.deposit });
  expect((await findEscrow(world.fresh.db, input.leaseId))).toMatchObject({ status: 'closed', open_signature: opening.signature });
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS);
  expect(chainBooksBalance(await leaseOnChain(world, input.leaseId))).toBe(0n);
});

test('a failed start whose open_lease can no longer land drops the escrow and moves nothing', async () => {
  const { input, tokenAccount } = await openInput(600);
  await world.steps.prepareOpen(input);
  await world.fresh.db.updateTable('escrows').set({ open_last_valid_block_height: 0 }).where('lease_id', '=', input.leaseId).execute();
  expect(await world.activities.refundUnstartedEscrow({ leaseId: input.leaseId })).toBeNull();
  expect(await findEscrow(world.fresh.db, input.leaseId)).toBeUndefined();
  expect(await world.client.fetchLease(world.client.leaseAddress(input.leaseId))).toBeNull();
  expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS);
});

test('a customer who cannot pay the deposit is refused for good, naming why', async () => {
  const { customerId } = await fundedCustomer(world, 1_000n);
  const leaseId = await leaseRow(world, customerId, 1, MAX_PRICE, 600);
  await expect(world.activities.openEscrow({ leaseId, customerId, deposit: depositForSeconds(RATE, 600).toString(),
    maxRatePerSecond: RATE.toString(), durationSeconds: 600, windowSeconds: 600 }))
    .rejects.toMatchObject({ type: 'InsufficientFunds', nonRetryable: true });
  await expect(world.activities.openEscrow({ leaseId: 'lease-1', customerId, deposit: '1', maxRatePerSecond: '1', durationSeconds: 1,
    windowSeconds: 1 })).rejects.toMatchObject({ type: 'EscrowStateError', nonRetryable: true, message: expect.stringMatching(/not a UUID/) });
});

describe('a settlement that tops up the rolling deposit in the same transaction', () => {
  /** A rolling lease funded 6 s ahead at open, which may reach 8 s ahead; periods of 2 s. */
  async function rolling() {
    const opened = await openInput(6, 8);
    await world.activities.openEscrow(opened.input);
    const start = (await leaseOnChain(world, opened.input.leaseId)).startTime;
    const [provider] = (await providers(world, 1)) as [string];
    const request = (period: number, amount: string) => ({ leaseId: opened.input.leaseId, period, receiptsDigest: DIGEST,
      payouts: [{ providerId: provider, amount, seconds: 2 }], fundSeconds: 2 * period + 6 });
    const paid = async () => tokenBalance(world, (await payoutAccountOf(world, provider))!);
    const until = (period: number) => untilChainTime(world, start + BigInt(2 * period));
    return { ...opened, leaseId: opened.input.leaseId, request, paid, until };
  }
  const net = (gross: bigint) => gross - (gross * 500n) / 10_000n; // the bootstrap's 5 % fee
  const TOP_UP = depositForSeconds(RATE, 2);

  test('sent and landed, then the worker died before recording: the retry tops up nothing more; the ledger has it once', async () => {
    const { leaseId, input, tokenAccount, wallet, request, paid, until } = await rolling();
    await until(1);
    const sent = (await world.steps.prepareSettlement(request(1, '5000')))!;
    expect((await findSettlement(world.fresh.db, leaseId, 1))?.settlement).toMatchObject({ status: 'pending', signature: sent.signature,
      top_up: TOP_UP.toString(), top_up_seconds: '2' });
    expect(await world.steps.send(sent)).toEqual({ outcome: 'confirmed' });
    const deposited = BigInt(input.deposit) + TOP_UP;
    expect(await leaseOnChain(world, leaseId)).toMatchObject({ lastPeriod: 1n, deposited, durationSeconds: 8n });

    const record = await world.activities.settlePeriod(request(1, '5000'));
    expect(record.signature).toBe(sent.signature);
    expect(record.funding).toEqual({ fundedSeconds: 8, toppedUp: TOP_UP.toString(), spendableAfter: (TOKENS - deposited).toString(), short: false });
    expect((await landedTransaction(world, record.signature)).instructions).toEqual(['settle', 'topUp']);
    // A retry (and another) of the recorded period draws nothing and pays nothing again.
    expect(await world.activities.settlePeriod(request(1, '5000'))).toEqual(record);
    expect(await leaseOnChain(world, leaseId)).toMatchObject({ deposited, durationSeconds: 8n });
    expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - deposited);
    expect((await allowanceOf(world, wallet)).allowance).toBe(TOKENS - deposited);
    expect(await paid()).toBe(net(5_000n));
    expect(await findEscrow(world.fresh.db, leaseId)).toMatchObject({ deposited: deposited.toString(), duration_seconds: '8' });

    // The very same bytes sent again are found landed: a signature lands once, and its top-up with it.
    expect(await world.steps.send(sent)).toEqual({ outcome: 'confirmed' });
    expect((await leaseOnChain(world, leaseId)).deposited).toBe(deposited);
    const close = await world.activities.closeEscrow({ leaseId, period: 2, payouts: [], receiptsDigest: DIGEST });
    expect(BigInt(close.refunded)).toBe(deposited - 5_000n);
    const lease = await leaseOnChain(world, leaseId);
    expect(chainBooksBalance(lease)).toBe(0n);
    expect(await escrowBooks(world.fresh.db, leaseId)).toMatchObject({ deposited: lease.deposited.toString(), refunded: lease.refunded.toString() });
  });

  test('recorded with a top-up, then the customer revoked: the period is paid all the same, without the top-up', async () => {
    const { leaseId, input, tokenAccount, wallet, request, paid, until } = await rolling();
    await until(1);
    // 1. Recorded, never sent, its blockhash past: the retry plans the top-up again from the allowance as it is now.
    const expired = (await world.steps.prepareSettlement(request(1, '5000')))!;
    await revokeAllowance(world.connection, wallet, world.mint);
    await world.fresh.db.updateTable('settlements').set({ last_valid_block_height: 0 }).where('lease_id', '=', leaseId).where('period', '=', '1')
      .execute();
    await chainSeconds(1); // a newer blockhash, or the fresh signature would be the same bytes again
    const first = await world.activities.settlePeriod(request(1, '5000'));
    expect(first.signature).not.toBe(expired.signature);
    expect(first.funding).toEqual({ fundedSeconds: 6, toppedUp: '0', spendableAfter: '0', short: true });
    expect((await landedTransaction(world, first.signature)).instructions).toEqual(['settle']);
    expect((await findSettlement(world.fresh.db, leaseId, 1))?.settlement).toMatchObject({ status: 'confirmed', top_up: '0', top_up_seconds: '0' });
    expect(await paid()).toBe(net(5_000n));
    // The replaced bytes, sent late by whoever kept them, are refused by the program and draw nothing.
    expect(await world.steps.send(expired)).toMatchObject({ outcome: 'rejected', failure: { reason: 'PeriodNotIncreasing' } });
    expect((await leaseOnChain(world, leaseId)).deposited).toBe(BigInt(input.deposit));

    // 2. Recorded with a top-up while approved, the customer revokes before the bytes are sent: the token program refuses
    // the draw, so the transaction (payouts too) is refused while those bytes live. That is retryable, never final:
    // once the bytes are dead the retry signs the period again without the top-up.
    await approve(world, wallet, TOKENS);
    await until(2);
    const refused = (await world.steps.prepareSettlement(request(2, '6000')))!;
    expect((await findSettlement(world.fresh.db, leaseId, 2))?.settlement.top_up).toBe(depositForSeconds(RATE, 4).toString());
    await revokeAllowance(world.connection, wallet, world.mint);
    await expect(world.activities.settlePeriod(request(2, '6000'))).rejects.toMatchObject({ nonRetryable: false });
    expect((await findSettlement(world.fresh.db, leaseId, 2))?.settlement).toMatchObject({ status: 'pending', signature: refused.signature });
    expect(await paid()).toBe(net(5_000n));
    await world.fresh.db.updateTable('settlements').set({ last_valid_block_height: 0 }).where('lease_id', '=', leaseId).where('period', '=', '2')
      .execute();
    await chainSeconds(1);
    const second = await world.activities.settlePeriod(request(2, '6000'));
    expect(second.signature).not.toBe(refused.signature);
    expect(second.funding).toMatchObject({ toppedUp: '0', short: true });
    expect(await paid()).toBe(net(5_000n) + net(6_000n));

    expect(await leaseOnChain(world, leaseId)).toMatchObject({ deposited: BigInt(input.deposit), durationSeconds: 6n, lastPeriod: 2n });
    expect(await tokenBalance(world, tokenAccount)).toBe(TOKENS - BigInt(input.deposit));
    const close = await world.activities.closeEscrow({ leaseId, period: 3, payouts: [], receiptsDigest: DIGEST });
    expect(BigInt(close.refunded)).toBe(BigInt(input.deposit) - 11_000n);
    const lease = await leaseOnChain(world, leaseId);
    expect(chainBooksBalance(lease)).toBe(0n);
    expect(await escrowBooks(world.fresh.db, leaseId)).toMatchObject({ deposited: lease.deposited.toString(), refunded: lease.refunded.toString() });
  });
});
