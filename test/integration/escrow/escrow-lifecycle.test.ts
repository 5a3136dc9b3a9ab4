/**
 * The escrow activities against the real chain node and PostgreSQL, with customers that keep their own keys and
 * fund leases through the allowance they approved for the escrow program: a fixed lease from open to close, a fee
 * raised mid-lease, an escrow opened on other terms, and how a transaction is delivered. Rolling leases, allowances
 * and the reclaim are in escrow-rolling.test.ts. `paidToProviders + fees + burned + refunded = deposited` is checked
 * exactly, on-chain (the Lease account over JSON-RPC) and in the ledger, with every token account the money went to.
 */
import path from 'node:path';
import { Keypair, PublicKey, SystemProgram } from '@solana/web3.js';
import type { CloseEscrowRecord, SettlementRecord } from '../../../activities/contracts';
import { createEscrowActivities } from '../../../activities/escrow.activities';
import { amountDue, periodPayouts, type BillingLine } from '../../../domain/billing';
import { depositForSeconds } from '../../../domain/rolling-deposit';
import { findEscrow, listSettlements, providerEarnings } from '../../../infra/db/repositories/escrow-ledger.repo';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { feeSplit, type EscrowLease } from '../../../infra/solana/escrow-client';
import { deliver, signTransaction } from '../../../infra/solana/transaction-delivery';
import { MAX_PRICE, RATE, TOKENS, countingConnection, digestOf, openLease } from './escrow-leases';
import {
  allowanceOf,
  chainSeconds,
  expectEscrowBooksBalance,
  fundedCustomer,
  landedTransaction,
  leaseOnChain,
  leaseRow,
  payoutAccountOf,
  providers,
  escrowWorldPerFile,
  tokenBalance,
  type EscrowWorld,
} from './escrow-world';

let world: EscrowWorld;
escrowWorldPerFile((started) => (world = started));

const expectBooksBalance = (leaseId: string, lastPeriod: number): Promise<EscrowLease> => expectEscrowBooksBalance(world, leaseId, lastPeriod);

test('a lease that completes: open, three settlements, close; the books balance to the unit on-chain and in the ledger', async () => {
  const { wallet, tokenAccount, leaseId, deposit, input, opened } = await openLease(world, 3, 3600);
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

test('a fee raised mid-lease: the engine splits the next settlement at the lease\'s own shares, as the chain does', async () => {
  const { leaseId, deposit } = await openLease(world, 1, 600);
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

test('delivery: bytes just signed are sent before anything is asked, and confirmed in 3 requests; bytes from the ledger are asked after before they are sent again', async () => {
  const methods: string[] = [];
  const counting = countingConnection(world, methods);
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
