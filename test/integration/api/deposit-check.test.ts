/**
 * The deposit check and the customer's wallet against a real chain: the local chain node (LiteSVM behind JSON-RPC)
 * bootstrapped in a temp dir, whose customers hold 10 tokens each and act with their own keys, as a customer would
 * (approve and revoke on-chain, sign the registration line). The API holds no key: a lease whose opening deposit the
 * registered wallet's allowance (the smaller of what the delegate may move and what the wallet holds) cannot fund is
 * a 402 naming the shortfall and what limits it, and nothing is created. POST /v1/wallet registers a wallet only on
 * its own signature of the customer's line; GET /v1/wallet shows the allowance as the chain has it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import bs58 from 'bs58';
import type { Express } from 'express';
import request from 'supertest';
import type { LeaseOrchestrator } from '../../../api/lease-orchestrator';
import { maxRatePerSecond } from '../../../domain/billing';
import { formatTokenAmount, parseTokenAmount } from '../../../domain/money';
import { openingDepositOf } from '../../../domain/rolling-deposit';
import { offchainMessageEnvelope, walletRegistrationMessage } from '../../../domain/wallet-registration';
import { findCustomerWallet } from '../../../infra/db/repositories/customers.repo';
import { bootstrapSolana, type SolanaBootstrap } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/chain-node';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { approveAllowance, revokeAllowance, signWalletRegistration } from '../../../infra/solana/customer-allowance';
import { allowanceAddress } from '../../../infra/solana/escrow-client';
import type { ExtendLeaseResult, LeaseWorkflowInput } from '../../../workflows/messages';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, registerHost, timings } from './fixtures';

class RecordingOrchestrator implements LeaseOrchestrator {
  started: LeaseWorkflowInput[] = [];
  extended: { leaseId: string; seconds: number }[] = [];
  async start(input: LeaseWorkflowInput): Promise<void> {
    this.started.push(input);
  }
  async extend(leaseId: string, seconds: number): Promise<ExtendLeaseResult> {
    this.extended.push({ leaseId, seconds });
    return { durationSeconds: 18_000 + seconds, endsAt: null };
  }
  async cancel(): Promise<never> {
    throw new Error('this test does not cancel');
  }
}

let dataDir: string;
let node: ChainNode;
let boot: SolanaBootstrap;
let fresh: FreshDatabase;
let connection: Connection;
let mint: PublicKey;
let orchestrator: RecordingOrchestrator;
let app: Express;
/** The bootstrap's customers' own keys (10 tokens each): no engine part reads them, the test acts as the customers. */
let owners: Keypair[];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-deposit-'));
  node = await startChainNode({ port: 0, dataDir });
  boot = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir, customerCount: 3, tokensPerCustomer: 10n });
  fresh = await freshDatabase();
  connection = new Connection(node.rpcUrl, { commitment: 'confirmed', wsEndpoint: node.wsUrl });
  mint = new PublicKey(boot.mint);
  owners = boot.customers.map((c) => readKeypair(c.keypairPath));
  const provider = await newProvider(fresh.db, 1);
  await registerHost(buildApp(fresh.db, new RecordingOrchestrator()), provider.auth, newHost(), [{ model: 'A100', pricePerGpuHour: '2' }]);
});

beforeEach(() => {
  orchestrator = new RecordingOrchestrator();
  // No mint given: the app reads it from the escrow program's Config, as server.ts leaves it.
  app = buildApp(fresh.db, orchestrator, { payments: { connection } });
});

afterAll(async () => {
  await fresh?.drop();
  await node?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** At 36 tokens per GPU-hour one GPU's cap is 10,000 base units a second: the opening deposit is rate × seconds. */
const lease = (maxPricePerGpuHour: string, durationSeconds?: number) => ({ gpuModel: 'A100', gpuCount: 1, minTier: 3, maxPricePerGpuHour,
  image: 'busybox', ...(durationSeconds === undefined ? {} : { durationSeconds }) });
const openingDeposit = (maxPricePerGpuHour: string, durationSeconds?: number) => openingDepositOf({
  maxRatePerSecond: maxRatePerSecond(parseTokenAmount(maxPricePerGpuHour), 1), periodSeconds: timings.settlementPeriodSeconds,
  windowPeriods: timings.depositWindowPeriods, durationSeconds: durationSeconds ?? null });
const create = (auth: string, body: object) => request(app).post('/v1/leases').set('authorization', auth).send(body);
const leaseCount = async (customerId: string) =>
  (await fresh.db.selectFrom('leases').select('id').where('customer_id', '=', customerId).execute()).length;
const tokens = (units: bigint) => formatTokenAmount(units);
const approve = (owner: Keypair, amount: bigint) => approveAllowance(connection, owner, { mint, decimals: boot.decimals, amount });
const balanceOf = async (owner: Keypair) =>
  BigInt((await connection.getTokenAccountBalance(new PublicKey(boot.customers[owners.indexOf(owner)]!.tokenAccount))).value.amount);
const delegateOf = (owner: Keypair) => allowanceAddress(owner.publicKey).toBase58();

/** An API customer whose wallet is `owner`, registered through POST /v1/wallet with the owner's signature. */
async function customerWithWallet(owner: Keypair) {
  const customer = await newCustomer(fresh.db);
  const res = await request(app).post('/v1/wallet').set('authorization', customer.auth).send(signWalletRegistration(owner, customer.id));
  expect(res.status).toBe(200);
  return customer;
}

/** A refused lease: 402 with the deposit's amounts, and no row, no workflow. */
async function expectRefused(customer: { id: string; auth: string }, body: object, detail: RegExp, amounts: Record<string, string | null>) {
  const res = await create(customer.auth, body);
  expectProblem(res, 402, detail);
  expect(res.body).toMatchObject({ type: 'urn:lease-engine:problem:insufficient-funds', ...amounts });
  expect(await leaseCount(customer.id)).toBe(0);
  expect(orchestrator.started).toEqual([]);
}

describe('the deposit check: the registered wallet\'s allowance must fund the opening deposit', () => {
  test('the opening deposit is the rolling span at the cap, or a shorter fixed duration', () => {
    // Period 60 s, K = 2: the escrow holds three periods ahead.
    expect(openingDeposit('36')).toEqual({ seconds: 180, deposit: 1_800_000n });
    expect(openingDeposit('36', 18_000)).toEqual({ seconds: 180, deposit: 1_800_000n });
    expect(openingDeposit('36', 60)).toEqual({ seconds: 60, deposit: 600_000n });
  });

  test('no registered wallet → 402 that says so; nothing created', async () => {
    const walletless = await newCustomer(fresh.db);
    await expectRefused(walletless, lease('0.36'),
      new RegExp(`^customer ${walletless.id} has no registered wallet to fund the deposit 0\\.018 \\(the first 180 s at the price cap\\) from: `
        + 'register one with POST /v1/wallet and approve an allowance; nothing was created$'),
      { deposit: '0.018', allowance: '0', balance: '0', shortfall: '0.018', wallet: null });
  });

  test('registered but never approved → 402 naming the delegate to approve; nothing created', async () => {
    const [owner] = owners as [Keypair];
    await revokeAllowance(connection, owner, mint);
    const customer = await customerWithWallet(owner);
    const wallet = owner.publicKey.toBase58();
    await expectRefused(customer, lease('36', 18_000),
      new RegExp(`^deposit 1\\.8 \\(the first 180 s at the price cap\\) needs 1\\.8 more than the engine may draw: wallet ${wallet} `
        + `has not approved the allowance delegate ${delegateOf(owner)}; nothing was created$`),
      { deposit: '1.8', allowance: '0', balance: '10', shortfall: '1.8', wallet });
  });

  test('an allowance smaller than the deposit → 402 naming the shortfall and the allowance left; nothing created or drawn', async () => {
    const [owner] = owners as [Keypair];
    const customer = await customerWithWallet(owner);
    await approve(owner, 1_500_000n);
    await expectRefused(customer, lease('36'),
      /^deposit 1\.8 \(the first 180 s at the price cap\) needs 0\.3 more than the engine may draw: the allowance left is 1\.5; nothing was created$/,
      { deposit: '1.8', allowance: '1.5', balance: '10', shortfall: '0.3', wallet: owner.publicKey.toBase58() });
    expect(await balanceOf(owner)).toBe(10_000_000n);
  });

  test('a balance smaller than the allowance → 402 naming what the wallet holds; nothing created', async () => {
    const [owner] = owners as [Keypair];
    const customer = await customerWithWallet(owner);
    await approve(owner, 1_000_000_000n);
    // 360 tokens an hour: 18 tokens for the first 180 s, against 10 held (and 1,000 approved).
    await expectRefused(customer, lease('360'),
      new RegExp(`^deposit 18 \\(the first 180 s at the price cap\\) needs 8 more than the engine may draw: wallet ${owner.publicKey.toBase58()} `
        + 'holds only 10; nothing was created$'),
      { deposit: '18', allowance: '1000', balance: '10', shortfall: '8', wallet: owner.publicKey.toBase58() });
  });

  test('an allowance that covers the deposit exactly → 201; the check draws nothing and leaves the allowance as it was', async () => {
    const [owner] = owners as [Keypair];
    const customer = await customerWithWallet(owner);
    await approve(owner, 600_000n);
    // A fixed 60-s lease needs only its own 60 s (0.6); the open-ended one the whole 180-s span (1.8).
    await expectRefused(customer, lease('36'), /needs 1\.2 more than the engine may draw: the allowance left is 0\.6;/,
      { deposit: '1.8', allowance: '0.6', shortfall: '1.2' });
    const res = await create(customer.auth, lease('36', 60));
    expect(res.status).toBe(201);
    expect(orchestrator.started.map((input) => input.leaseId)).toEqual([res.body.id]);
    expect(await balanceOf(owner)).toBe(10_000_000n);
    const wallet = await request(app).get('/v1/wallet').set('authorization', customer.auth);
    expect(wallet.body).toMatchObject({ approved: true, allowance: '0.6', balance: '10', spendable: '0.6' });
  });

  test('an extension asks no deposit: the rolling deposit funds the new end from the allowance, period by period', async () => {
    const [owner] = owners as [Keypair];
    const customer = await customerWithWallet(owner);
    await approve(owner, 10_000_000n);
    const created = await create(customer.auth, lease('36', 18_000));
    expect(created.status).toBe(201);
    await revokeAllowance(connection, owner, mint);
    const extended = await request(app).post(`/v1/leases/${created.body.id}/extend`).set('authorization', customer.auth).send({ seconds: 3600 });
    expect(extended.status).toBe(200);
    expect(orchestrator.extended).toEqual([{ leaseId: created.body.id, seconds: 3600 }]);
  });

  test('a chain RPC that never answers → 503 after the deadline, nothing created', async () => {
    const [owner] = owners as [Keypair];
    const customer = await customerWithWallet(owner);
    // Accepts connections and never replies: what a hung RPC looks like to the API.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const dead = new Connection(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, 'confirmed');
      app = buildApp(fresh.db, orchestrator, { payments: { connection: dead, mint, timeoutMs: 300 } });
      expectProblem(await create(customer.auth, lease('1')), 503, /Solana RPC does not answer.*nothing was created, retry later/);
      expect(await leaseCount(customer.id)).toBe(0);
      expect(orchestrator.started).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('POST /v1/wallet registers a wallet only on its own signature of the customer\'s line; GET shows the chain\'s allowance', () => {
  const register = (auth: string, body: object) => request(app).post('/v1/wallet').set('authorization', auth).send(body);
  const show = (auth: string, query = '') => request(app).get(`/v1/wallet${query}`).set('authorization', auth);
  /** A 4xx naming `field`, and the registered wallet still `registered`. */
  async function expectRefusedProof(customer: { id: string; auth: string }, body: object, status: number, field: string, registered: string | null) {
    const res = await register(customer.auth, body);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
    expect(await findCustomerWallet(fresh.db, customer.id)).toBe(registered);
  }

  test('a signature of the raw line registers; so does the off-chain message form (`solana sign-offchain-message`)', async () => {
    const [first, second] = owners as [Keypair, Keypair];
    const customer = await newCustomer(fresh.db);
    expect((await show(customer.auth)).body).toMatchObject({ address: null, registrationMessage: null, approved: false, allowance: '0' });
    // The line to sign for a wallet not registered yet.
    const preview = await show(customer.auth, `?address=${first.publicKey.toBase58()}`);
    expect(preview.body).toMatchObject({ address: null, registrationMessage: walletRegistrationMessage(customer.id, first.publicKey.toBase58()) });

    const raw = await register(customer.auth, signWalletRegistration(first, customer.id));
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ address: first.publicKey.toBase58(), allowanceDelegate: delegateOf(first),
      tokenAccount: boot.customers[0]!.tokenAccount, registrationMessage: walletRegistrationMessage(customer.id, first.publicKey.toBase58()) });
    expect(await findCustomerWallet(fresh.db, customer.id)).toBe(first.publicKey.toBase58());

    const address = second.publicKey.toBase58();
    const envelope = offchainMessageEnvelope(walletRegistrationMessage(customer.id, address));
    const signature = bs58.encode(ed25519.sign(envelope, second.secretKey.slice(0, 32)));
    const wrapped = await register(customer.auth, { address, signature });
    expect(wrapped.status).toBe(200);
    expect(wrapped.body.address).toBe(address);
    expect(await findCustomerWallet(fresh.db, customer.id)).toBe(address);
  });

  test('another key\'s signature, the right key over another customer\'s line, bad base58 or lengths: refused naming the field, nothing changed', async () => {
    const [mine, other] = owners as [Keypair, Keypair];
    const customer = await customerWithWallet(mine);
    const registered = mine.publicKey.toBase58();
    const target = other.publicKey.toBase58();
    const line = walletRegistrationMessage(customer.id, target);

    // Signed by a key that is not the wallet's: whoever knows an address cannot claim it.
    const stranger = Keypair.generate();
    const byStranger = bs58.encode(ed25519.sign(new TextEncoder().encode(line), stranger.secretKey.slice(0, 32)));
    await expectRefusedProof(customer, { address: target, signature: byStranger }, 422, 'signature', registered);
    // The wallet's own signature, but of another customer's line: a signature shown to one customer registers nowhere else.
    const someoneElse = await newCustomer(fresh.db);
    await expectRefusedProof(customer, signWalletRegistration(other, someoneElse.id), 422, 'signature', registered);
    // Not base58 at all (0, O, I and l are not in its alphabet): the schema refuses it.
    const good = signWalletRegistration(other, customer.id);
    await expectRefusedProof(customer, { address: target, signature: `0OIl${good.signature.slice(4)}` }, 400, 'signature', registered);
    // Base58, but 63 bytes: not an ed25519 signature.
    const short = bs58.encode(bs58.decode(good.signature).slice(0, 63));
    await expectRefusedProof(customer, { address: target, signature: short }, 422, 'signature', registered);
    // An address that decodes to 31 bytes is not a Solana address.
    const notAKey = bs58.encode(other.publicKey.toBytes().slice(0, 31));
    await expectRefusedProof(customer, { address: notAKey, signature: good.signature }, 422, 'address', registered);
    await expectRefusedProof(customer, { address: 'not base58 at all, much too long', signature: good.signature }, 400, 'address', registered);
    await expectRefusedProof(customer, { address: target }, 400, 'signature', registered);
    await expectRefusedProof(customer, { ...good, extra: 'field' }, 400, 'extra', registered);
    expect(await findCustomerWallet(fresh.db, someoneElse.id)).toBeNull();

    // The proof it should have sent still works.
    expect((await register(customer.auth, good)).status).toBe(200);
    expect(await findCustomerWallet(fresh.db, customer.id)).toBe(target);
  });

  test('GET shows approved, allowance and spendable as the chain has them; after a revoke, approved false and allowance 0', async () => {
    const owner = owners[2]!;
    const customer = await customerWithWallet(owner);
    const balance = await balanceOf(owner);
    await approve(owner, 4_250_000n);
    expect((await show(customer.auth)).body).toMatchObject({ address: owner.publicKey.toBase58(), approved: true, allowance: '4.25',
      balance: tokens(balance), spendable: '4.25', allowanceDelegate: delegateOf(owner) });
    // More approved than held: the engine can draw only what the wallet holds.
    await approve(owner, balance + 1n);
    expect((await show(customer.auth)).body).toMatchObject({ approved: true, allowance: tokens(balance + 1n), spendable: tokens(balance) });

    await revokeAllowance(connection, owner, mint);
    const revoked = (await show(customer.auth)).body;
    expect(revoked).toMatchObject({ approved: false, allowance: '0', balance: tokens(balance), spendable: '0' });
    expect(revoked.approveWith).toContain(delegateOf(owner));
    await expectRefused(customer, lease('0.36'), /has not approved the allowance delegate/, { allowance: '0', shortfall: '0.018' });
  });
});
