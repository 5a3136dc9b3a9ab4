/**
 * Customers keep their keys and pay as they go (issue 8), end to end against real parts: open-ended leases funded
 * by a rolling deposit drawn from each customer's on-chain allowance, period by period. A customer whose allowance
 * runs out is warned ahead and its lease ends at the last funded second; a customer who revokes mid-lease gets the
 * same; a customer who reclaims its escrow on-chain while the engine is away finds the lease ended for that reason,
 * its containers stopped and its GPU free. Every balance is read over JSON-RPC and matched to the ledger, to the
 * base unit. The customers' keys are read only by this test, as a customer's own wallet would.
 */
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Connection, PublicKey, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { findEscrow, listSettlements } from '../../../infra/db/repositories/escrow-ledger.repo';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { approveAllowance, revokeAllowance } from '../../../infra/solana/customer-allowance';
import { EscrowClient, leaseAddress } from '../../../infra/solana/escrow-client';
import { leaseWorkflowId } from '../../../workflows/messages';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { recordHistory } from '../../support/histories';
import { expectMoneyBalanced, paidByProvider } from '../../support/money';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startEngine({
    controlWorker: 'process',
    settlementPeriodSeconds: 5,
    depositWindowPeriods: 2,
    hosts: [{ hostId: 'rd-host', provider: 'rd-atlas', tier: 1, gpus: 'A10:24:0.50x3' }],
  });
}, 240_000);
afterAll(async () => engine?.stop(), 60_000);

/** A cap of 3.6 tokens per GPU-hour is 1,000 base units a second: a period of 5 s is 5,000, the opening 15 s 15,000. */
const RATE = 1_000n;
const owner = (customer: number) => readKeypair(engine.solana.customers[customer]!.keypairPath);
const mint = () => new PublicKey(engine.solana.mint);
const approve = (customer: number, amount: bigint) =>
  approveAllowance(engine.connection, owner(customer), { mint: mint(), decimals: engine.solana.decimals, amount });
const onChain = (leaseId: string) => new EscrowClient(engine.connection).fetchLease(leaseAddress(leaseId));
const get = async (customer: number, leaseId: string) =>
  (await engine.request('GET', `/v1/leases/${leaseId}`, undefined, engine.customers[customer]!.apiKey)).body;
const events = async (customer: number, leaseId: string) =>
  (await engine.request('GET', `/v1/leases/${leaseId}/events`, undefined, engine.customers[customer]!.apiKey)).body as
    { kind: string; data: { code?: string; message?: string } }[];

async function openEnded(customer: number): Promise<string> {
  const created = await engine.request('POST', '/v1/leases', { gpuModel: 'A10', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '3.6',
    image: DEMO_IMAGE, command: SLEEP_FOREVER }, engine.customers[customer]!.apiKey);
  expect(created.status).toBe(201);
  expect(created.body.durationSeconds).toBeNull();
  return created.body.id as string;
}

const ended = (customer: number, leaseId: string, timeoutMs = 90_000) =>
  waitFor(async () => { const l = await get(customer, leaseId); return ['completed', 'cancelled', 'failed'].includes(l.status) && l; },
    timeoutMs, `lease ${leaseId} ended`);

test('an open-ended lease draws its allowance period by period, is warned before it runs out, and ends at the last funded second', async () => {
  // The opening 15 s and three 5 s top-ups: 30 s of GPU, all the allowance there is.
  await approve(0, 30n * RATE);
  const leaseId = await openEnded(0);
  const done = await ended(0, leaseId);
  expect(done).toMatchObject({ status: 'completed', endReason: expect.stringMatching(/^allowance exhausted/) });

  const chain = (await onChain(leaseId))!;
  expect(chain.durationSeconds).toBe(30n);
  expect(chain.deposited).toBe(30n * RATE);
  const warnings = (await events(0, leaseId)).filter((e) => e.kind === 'warning').map((e) => e.data.code);
  // Ahead of time (what is left cannot pay the next period), then when a top-up fell short: once each.
  expect(warnings).toEqual(['funds_low', 'allowance_exhausted']);
  const { settlements } = await expectMoneyBalanced(engine, leaseId);
  // One transaction per period, the top-ups in it: three settlements carried one.
  expect(settlements.filter((s) => BigInt(s.settlement.top_up) > 0n).map((s) => s.settlement.top_up)).toEqual(['5000', '5000', '5000']);
  // The provider is paid its verified seconds, never beyond the funded 30.
  const paid = paidByProvider(settlements).get(engine.providers.get('rd-atlas')!.id)!;
  expect(paid.seconds).toBe(done.assignments[0].verifiedSeconds);
  expect(paid.seconds).toBeLessThanOrEqual(30);
  expect(paid.seconds).toBeGreaterThanOrEqual(20);
  await recordHistory(engine.temporal.client.workflow.getHandle(leaseWorkflowId(leaseId)), 'lease-allowance-exhausted');
}, 120_000);

test('revoking the allowance mid-lease stops the top-ups at once: the lease ends at its last funded second, every second of it paid', async () => {
  await approve(1, 1_000_000n * RATE);
  const leaseId = await openEnded(1);
  // Wait for the first top-up to land, then revoke.
  await waitFor(async () => ((await get(1, leaseId)).escrow?.fundedSeconds ?? 0) >= 20 || undefined, 30_000, 'first top-up');
  await revokeAllowance(engine.connection, owner(1), mint());
  const wallet = (await engine.request('GET', '/v1/wallet', undefined, engine.customers[1]!.apiKey)).body;
  expect(wallet).toMatchObject({ approved: false, allowance: '0' });

  const done = await ended(1, leaseId);
  expect(done).toMatchObject({ status: 'completed', endReason: expect.stringMatching(/^allowance exhausted/) });
  const chain = (await onChain(leaseId))!;
  // Nothing was drawn after the revoke: what the escrow held then is all it ever held.
  expect(chain.deposited).toBe(chain.durationSeconds * RATE);
  expect(chain.durationSeconds).toBeLessThanOrEqual(25n);
  expect((await events(1, leaseId)).some((e) => e.kind === 'warning' && e.data.code === 'allowance_exhausted')).toBe(true);
  await expectMoneyBalanced(engine, leaseId);
}, 120_000);

test('a control worker away for longer than the deposit\'s window: the lease pays what the escrow holds, carries the rest, and catches up, every verified second paid', async () => {
  await approve(1, 1_000_000n * RATE);
  // Capped at the host's own price (0.50 an hour, 139 base units a second at most): the deposit buys exactly the
  // seconds the host is paid for, so seconds proven past the funded end are seconds past the money.
  const created = await engine.request('POST', '/v1/leases', { gpuModel: 'A10', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '0.5',
    image: DEMO_IMAGE, command: SLEEP_FOREVER }, engine.customers[1]!.apiKey);
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  const db = engine.database.db;
  const verified = async () => (await db.selectFrom('assignments').select('verified_seconds').where('lease_id', '=', leaseId).execute())
    .reduce((sum, row) => sum + row.verified_seconds, 0);
  const paidSeconds = async () => [...paidByProvider(await listSettlements(db, leaseId)).values()].reduce((sum, p) => sum + p.seconds, 0);
  await waitFor(async () => (await paidSeconds()) > 0 || undefined, 30_000, 'a first settlement');
  await engine.killControlWorker();

  // The host goes on proving to the API: two periods past the funded end before the worker is back. The period
  // then closed totals them all, more than the escrow holds until that settlement's own top-up.
  const funded = Number((await onChain(leaseId))!.durationSeconds);
  await waitFor(async () => (await verified()) >= funded + 10 || undefined, 60_000, 'receipts past the funded end');
  await engine.restartControlWorker();
  await waitFor(async () => (await paidSeconds()) >= funded + 10 || undefined, 60_000, 'the seconds carried paid');
  expect((await get(1, leaseId)).status).toBe('running');

  const cancelled = await engine.request('POST', `/v1/leases/${leaseId}/cancel`, undefined, engine.customers[1]!.apiKey);
  expect(cancelled.body).toMatchObject({ status: 'cancelled', endReason: 'cancelled by customer' });
  const { chain, settlements } = await expectMoneyBalanced(engine, leaseId);
  // Every settlement landed (none refused for exceeding the deposit), and every verified second was paid once.
  expect((await db.selectFrom('settlements').select('status').where('lease_id', '=', leaseId).execute()).every((r) => r.status === 'confirmed'))
    .toBe(true);
  expect(await paidSeconds()).toBe(await verified());
  expect(chain.paidToProviders + chain.fees + chain.burned).toBe(settlements.reduce((sum, s) => sum + BigInt(s.settlement.gross), 0n));
}, 180_000);

test('a customer who reclaims its escrow while the engine is away finds the lease ended for that reason, nothing paid after it', async () => {
  await approve(0, 1_000_000n * RATE);
  const leaseId = await openEnded(0);
  // A period paid first, so that there is something the reclaim must leave alone.
  await waitFor(async () => ((await get(0, leaseId)).escrow?.paidToProviders ?? '0') !== '0' || undefined, 30_000, 'a settlement');
  await engine.killControlWorker();

  // Past the funded end and the two-hour grace on the chain's clock; the customer takes its money back itself.
  const lease = (await onChain(leaseId))!;
  engine.advanceChainClock((Number(lease.durationSeconds) + Number(lease.reclaimGraceSeconds) + 60) * 1000);
  const customer = owner(0);
  const client = new EscrowClient(engine.connection);
  const ix = await client.reclaim({ customer: customer.publicKey, lease: leaseAddress(leaseId),
    customerToken: getAssociatedTokenAddressSync(mint(), customer.publicKey) });
  // A connection of its own: the shared one caches a blockhash that the clock's jump has made two hours old.
  const wallet = new Connection(engine.solana.rpcUrl, 'confirmed');
  await sendAndConfirmTransaction(wallet, new Transaction().add(ix), [customer], { commitment: 'confirmed' });
  const reclaimed = (await onChain(leaseId))!;
  expect(reclaimed.status).toBe('reclaimed');

  await engine.restartControlWorker();
  const done = await ended(0, leaseId, 60_000);
  expect(done).toMatchObject({ status: 'cancelled', endReason: expect.stringMatching(/reclaimed by the customer/) });
  expect(done.escrow).toMatchObject({ status: 'reclaimed' });
  expect((await findEscrow(engine.database.db, leaseId))?.refunded).toBe(reclaimed.refunded.toString());
  // Providers were paid nothing after the reclaim: the chain's books are the reclaim's.
  const after = (await onChain(leaseId))!;
  expect(reclaimed.paidToProviders).toBeGreaterThan(0n);
  expect(after).toMatchObject({ paidToProviders: reclaimed.paidToProviders, fees: reclaimed.fees, burned: reclaimed.burned });
  expect(reclaimed.refunded).toBe(reclaimed.deposited - reclaimed.paidToProviders - reclaimed.fees - reclaimed.burned);
  await expectMoneyBalanced(engine, leaseId);
  // The GPU is free again and the container is gone.
  await waitFor(async () => {
    const offers = (await engine.request('GET', '/v1/offers?gpuModel=A10')).body as { available: number }[];
    return offers.reduce((n, o) => n + o.available, 0) === 3 || undefined;
  }, 20_000, 'GPUs released');
}, 150_000);
