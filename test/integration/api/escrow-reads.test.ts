/**
 * The money reads: a lease's escrow books, its settlements, a provider's earnings. Ledger rows are written
 * straight into PostgreSQL as the escrow activities leave them (pending while sent, confirmed once the chain
 * has them); the API must show only what the chain confirmed, in exact token decimals, and its books must
 * balance (paidToProviders + fees + burned + refunded = deposited) once the lease is closed.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { parseTokenAmount } from '../../../domain/money';
import { feeSplit } from '../../../infra/solana/escrow-client';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newProvider, noWorkflowCalls } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let alice: { id: string; auth: string };
let bob: { id: string; auth: string };
let providerA: string;
let providerB: string;

const FEE_BPS = 500;
const BURN_BPS = 2_000;
const DEPOSIT = 12_500_000n;

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  alice = await newCustomer(fresh.db);
  bob = await newCustomer(fresh.db);
  providerA = (await newProvider(fresh.db, 1)).id;
  providerB = (await newProvider(fresh.db, 2)).id;
});

afterAll(() => fresh.drop());

async function leaseOf(customerId: string): Promise<string> {
  const id = randomUUID();
  await fresh.db.insertInto('leases').values({ id, customer_id: customerId, status: 'running', gpu_model: 'H100', gpu_count: 2,
    min_tier: 2, max_price_per_gpu_hour: 2_500_000n, duration_seconds: 9000, image: 'busybox', request_hash: randomUUID() }).execute();
  return id;
}

async function openingEscrow(leaseId: string): Promise<string> {
  const address = `Lease${leaseId.replace(/-/g, '').slice(0, 30)}`;
  await fresh.db.insertInto('escrows').values({ lease_id: leaseId, address, vault: 'Vault1111', customer_wallet: 'Wallet1111',
    mint: 'Mint1111', deposited: DEPOSIT, max_rate_per_second: 1_389n, duration_seconds: 9000n, status: 'opening',
    open_signature: `open-${leaseId}` }).execute();
  return address;
}

/** One settlement row and its payouts, split as the program splits them. */
async function settlement(leaseId: string, period: number, opts: { kind?: 'settle' | 'close'; status?: 'pending' | 'confirmed';
  refunded?: bigint; lines: { providerId: string; seconds: number; gross: bigint }[] }) {
  const payouts = opts.lines.map((line) => {
    const split = feeSplit(line.gross, FEE_BPS, BURN_BPS);
    return { lease_id: leaseId, period: String(period), provider_id: line.providerId, token_account: `Token-${line.providerId}`,
      seconds: line.seconds, gross: String(line.gross), net: String(split.toProvider), fee: String(split.toTreasury),
      burn: String(split.toBurn) };
  });
  const sum = (pick: (p: (typeof payouts)[number]) => string) => payouts.reduce((total, p) => total + BigInt(pick(p)), 0n);
  await fresh.db.insertInto('settlements').values({ lease_id: leaseId, period, kind: opts.kind ?? 'settle',
    status: opts.status ?? 'confirmed', signature: `sig-${leaseId}-${period}`, transaction: 'AA==', last_valid_block_height: 100,
    receipts_digest: 'ab'.repeat(32), gross: sum((p) => p.gross), fee: sum((p) => p.fee), burned: sum((p) => p.burn),
    refunded: opts.refunded ?? 0n }).execute();
  if (payouts.length > 0) await fresh.db.insertInto('settlement_payouts').values(payouts).execute();
}

const get = (path: string, auth?: string) => {
  const req = request(app).get(path);
  return auth === undefined ? req : req.set('authorization', auth);
};

test('GET /v1/leases/:id shows escrow null until open_lease is confirmed, then the books of confirmed settlements only', async () => {
  const leaseId = await leaseOf(alice.id);
  expect((await get(`/v1/leases/${leaseId}`, alice.auth)).body.escrow).toBeNull();

  const address = await openingEscrow(leaseId);
  expect((await get(`/v1/leases/${leaseId}`, alice.auth)).body.escrow).toBeNull();

  await fresh.db.updateTable('escrows').set({ status: 'open', opened_at: new Date() }).where('lease_id', '=', leaseId).execute();
  expect((await get(`/v1/leases/${leaseId}`, alice.auth)).body.escrow).toEqual({ address, status: 'open', deposited: '12.5',
    paidToProviders: '0', fees: '0', burned: '0', refunded: '0', lastPeriod: 0, fundedSeconds: 9000 });

  await settlement(leaseId, 1, { lines: [{ providerId: providerA, seconds: 600, gross: 1_000_000n },
    { providerId: providerB, seconds: 300, gross: 500_000n }] });
  await settlement(leaseId, 2, { status: 'pending', lines: [{ providerId: providerA, seconds: 60, gross: 100_000n }] });
  const res = await get(`/v1/leases/${leaseId}`, alice.auth);
  expect(res.status).toBe(200);
  // 1.5 gross: 5 % fee (0.075), a fifth of it burned (0.015), the treasury keeps 0.06; period 2 is not confirmed yet.
  expect(res.body.escrow).toEqual({ address, status: 'open', deposited: '12.5', paidToProviders: '1.425', fees: '0.06',
    burned: '0.015', refunded: '0', lastPeriod: 1, fundedSeconds: 9000 });
});

test('GET /v1/leases/:id/settlements lists confirmed settlements with their payouts; the closed books balance exactly', async () => {
  const leaseId = await leaseOf(alice.id);
  await openingEscrow(leaseId);
  await fresh.db.updateTable('escrows').set({ status: 'open' }).where('lease_id', '=', leaseId).execute();
  await settlement(leaseId, 1, { lines: [{ providerId: providerA, seconds: 600, gross: 1_000_000n },
    { providerId: providerB, seconds: 300, gross: 500_000n }] });
  // The last partial period: 100 s at 1.666666/h per GPU rounds down; the refund is what is left.
  const lastGross = 166_666n;
  const refund = DEPOSIT - 1_500_000n - lastGross;
  await settlement(leaseId, 2, { kind: 'close', refunded: refund, lines: [{ providerId: providerA, seconds: 100, gross: lastGross }] });
  await fresh.db.updateTable('escrows').set({ status: 'closed', refunded: refund, closed_signature: `sig-${leaseId}-2` })
    .where('lease_id', '=', leaseId).execute();

  const res = await get(`/v1/leases/${leaseId}/settlements`, alice.auth);
  expect(res.status).toBe(200);
  expect(res.body).toEqual([
    { period: 1, kind: 'settle', signature: `sig-${leaseId}-1`, receiptsDigest: 'ab'.repeat(32), gross: '1.5', fee: '0.06',
      burned: '0.015', refunded: '0', topUp: '0', payouts: [
        { providerId: providerA, tokenAccount: `Token-${providerA}`, seconds: 600, gross: '1', net: '0.95', fee: '0.04', burn: '0.01' },
        { providerId: providerB, tokenAccount: `Token-${providerB}`, seconds: 300, gross: '0.5', net: '0.475', fee: '0.02', burn: '0.005' },
      ].sort((a, b) => a.providerId.localeCompare(b.providerId)) },
    { period: 2, kind: 'close', signature: `sig-${leaseId}-2`, receiptsDigest: 'ab'.repeat(32), gross: '0.166666', fee: '0.006667',
      burned: '0.001666', refunded: '10.833334', topUp: '0', payouts: [
        { providerId: providerA, tokenAccount: `Token-${providerA}`, seconds: 100, gross: '0.166666', net: '0.158333', fee: '0.006667', burn: '0.001666' },
      ] },
  ]);

  const { escrow } = (await get(`/v1/leases/${leaseId}`, alice.auth)).body;
  expect(escrow).toMatchObject({ status: 'closed', deposited: '12.5', refunded: '10.833334', lastPeriod: 2 });
  const parts = [escrow.paidToProviders, escrow.fees, escrow.burned, escrow.refunded].map(parseTokenAmount);
  expect(parts.reduce((a, b) => a + b, 0n)).toBe(parseTokenAmount(escrow.deposited));
});

test("settlements are the lease owner's only: another customer and an unknown lease get 404", async () => {
  const leaseId = await leaseOf(alice.id);
  expectProblem(await get(`/v1/leases/${leaseId}/settlements`, bob.auth), 404, new RegExp(leaseId));
  expectProblem(await get(`/v1/leases/${randomUUID()}/settlements`, alice.auth), 404, /no lease/);
  expectProblem(await get(`/v1/leases/${leaseId}/settlements`), 401, /missing API key/);
  expect((await get(`/v1/leases/${leaseId}/settlements`, alice.auth)).body).toEqual([]);
});

test('GET /v1/providers/:id is public and sums what confirmed settlements paid the provider', async () => {
  const paid = (await newProvider(fresh.db, 1)).id;
  const other = (await newProvider(fresh.db, 2)).id;
  await fresh.db.updateTable('providers').set({ payout_token_account: 'PayoutAccount1111111111111111111111111111111' })
    .where('id', '=', paid).execute();
  const leaseId = await leaseOf(alice.id);
  await openingEscrow(leaseId);
  await fresh.db.updateTable('escrows').set({ status: 'open' }).where('lease_id', '=', leaseId).execute();
  await settlement(leaseId, 1, { lines: [{ providerId: paid, seconds: 600, gross: 1_000_000n }, { providerId: other, seconds: 60, gross: 100_000n }] });
  await settlement(leaseId, 2, { lines: [{ providerId: paid, seconds: 700, gross: 1_166_666n }] });
  await settlement(leaseId, 3, { status: 'pending', lines: [{ providerId: paid, seconds: 600, gross: 1_000_000n }] });

  const res = await get(`/v1/providers/${paid}`);
  expect(res.status).toBe(200);
  const { name } = await fresh.db.selectFrom('providers').select('name').where('id', '=', paid).executeTakeFirstOrThrow();
  // 0.95 + (1.166666 − 0.058333): the pending period 3 is not earned until the chain confirms it.
  expect(res.body).toEqual({ id: paid, name, tier: 1, payoutTokenAccount: 'PayoutAccount1111111111111111111111111111111',
    earnings: { gross: '2.166666', net: '2.058333', seconds: 1300, settlements: 2 },
    // Paid, but no record of how it served yet (test/integration/api/provider-reliability.test.ts has one): the prior.
    reliability: expect.objectContaining({ score: 0.75 }) });
  expect((await get(`/v1/providers/${other}`)).body).toMatchObject({ id: other, tier: 2, payoutTokenAccount: null,
    earnings: { gross: '0.1', net: '0.095', seconds: 60, settlements: 1 } });

  const idle = (await newProvider(fresh.db, 3)).id;
  expect((await get(`/v1/providers/${idle}`)).body.earnings).toEqual({ gross: '0', net: '0', seconds: 0, settlements: 0 });
  expectProblem(await get('/v1/providers/nobody'), 404, /no provider nobody/);
});
