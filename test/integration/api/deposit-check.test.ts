/**
 * The deposit check against a real chain: the local chain node (LiteSVM behind JSON-RPC) bootstrapped in a
 * temp dir, a customer whose custodial wallet is a bootstrap customer holding 10 tokens. A lease or an
 * extension the wallet cannot cover is a 402 naming the shortfall, and nothing is created or extended.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection, PublicKey } from '@solana/web3.js';
import type { Express } from 'express';
import request from 'supertest';
import type { LeaseOrchestrator } from '../../../api/lease-orchestrator';
import { bootstrapSolana, type SolanaBootstrap } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/chain-node';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { FileCustomerWallets } from '../../../infra/solana/customer-wallets';
import type { ExtendLeaseResult, LeaseWorkflowInput } from '../../../workflows/messages';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, registerHost } from './fixtures';

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
let wallets: FileCustomerWallets;
let orchestrator: RecordingOrchestrator;
let app: Express;
let payer: { id: string; auth: string };
let wallet: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-deposit-'));
  node = await startChainNode({ port: 0, dataDir });
  // One demo customer holding exactly 10 tokens.
  boot = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir, customerCount: 1, tokensPerCustomer: 10n });
  fresh = await freshDatabase();
  connection = new Connection(node.rpcUrl, 'confirmed');
  wallets = FileCustomerWallets.inDataDir(dataDir);
  payer = await newCustomer(fresh.db);
  wallet = (await wallets.adopt(payer.id, readKeypair(boot.customers[0]!.keypairPath))).publicKey.toBase58();
  const provider = await newProvider(fresh.db, 1);
  await registerHost(buildApp(fresh.db, new RecordingOrchestrator()), provider.auth, newHost(), [{ model: 'A100', pricePerGpuHour: '2' }]);
});

beforeEach(() => {
  orchestrator = new RecordingOrchestrator();
  // No mint given: the app reads it from the escrow program's Config, as server.ts leaves it.
  app = buildApp(fresh.db, orchestrator, { payments: { connection, wallets } });
});

afterAll(async () => {
  await fresh?.drop();
  await node?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** 5 h of one GPU: the deposit is the price cap × 5. */
const lease = (maxPricePerGpuHour: string) => ({ gpuModel: 'A100', gpuCount: 1, minTier: 3, maxPricePerGpuHour,
  durationSeconds: 18_000, image: 'busybox' });
const create = (auth: string, body: object) => request(app).post('/v1/leases').set('authorization', auth).send(body);
const leaseCount = async (customerId: string) =>
  (await fresh.db.selectFrom('leases').select('id').where('customer_id', '=', customerId).execute()).length;

test('a deposit above the wallet balance → 402 naming the shortfall, and no lease row, no workflow', async () => {
  const res = await create(payer.auth, lease('2.5'));
  expectProblem(res, 402, new RegExp(`^deposit 12\\.5 needs 2\\.5 more than the balance 10 of wallet ${wallet}; nothing was created$`));
  expect(res.body).toMatchObject({ type: 'urn:lease-engine:problem:insufficient-funds', deposit: '12.5', balance: '10', shortfall: '2.5', wallet });
  expect(await leaseCount(payer.id)).toBe(0);
  expect(orchestrator.started).toEqual([]);
});

test('a deposit the balance covers exactly is created, and the chain balance is what was read', async () => {
  const res = await create(payer.auth, lease('2'));
  expect(res.status).toBe(201);
  expect(orchestrator.started.map((input) => input.leaseId)).toEqual([res.body.id]);
  const onChain = await connection.getTokenAccountBalance(new PublicKey(boot.customers[0]!.tokenAccount));
  expect(onChain.value.amount).toBe('10000000');
});

test('an extension whose top-up the wallet cannot cover → 402 before the workflow is asked; one it can cover goes through', async () => {
  const created = await create(payer.auth, lease('2'));
  expect(created.status).toBe(201);
  const extend = (seconds: number) => request(app).post(`/v1/leases/${created.body.id}/extend`).set('authorization', payer.auth).send({ seconds });

  // 19,000 s at 2 per hour: 10.555556 (rounded up) against 10.
  const refused = await extend(19_000);
  expectProblem(refused, 402, new RegExp(`^deposit 10\\.555556 for 19000 more seconds needs 0\\.555556 more than the balance 10 of wallet ${wallet}; the lease was not extended$`));
  expect(refused.body).toMatchObject({ deposit: '10.555556', balance: '10', shortfall: '0.555556' });
  expect(orchestrator.extended).toEqual([]);

  expect((await extend(3600)).status).toBe(200);
  expect(orchestrator.extended).toEqual([{ leaseId: created.body.id, seconds: 3600 }]);
});

test('a customer without a wallet → 402 that says so; nothing created', async () => {
  const walletless = await newCustomer(fresh.db);
  const res = await create(walletless.auth, lease('0.000001'));
  expectProblem(res, 402, new RegExp(`customer ${walletless.id} has no Solana wallet to pay the deposit 0\\.000005 from; nothing was created`));
  expect(res.body).toMatchObject({ deposit: '0.000005', balance: '0', shortfall: '0.000005', wallet: null });
  expect(await leaseCount(walletless.id)).toBe(0);
});

test('a chain RPC that never answers → 503 after the deadline, nothing created', async () => {
  // Accepts connections and never replies: what a hung RPC looks like to the API.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const dead = new Connection(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, 'confirmed');
    app = buildApp(fresh.db, orchestrator, { payments: { connection: dead, wallets, timeoutMs: 300 } });
    const before = await leaseCount(payer.id);
    expectProblem(await create(payer.auth, lease('1')), 503, /Solana RPC does not answer.*nothing was created, retry later/);
    expect(await leaseCount(payer.id)).toBe(before);
    expect(orchestrator.started).toEqual([]);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});
