/**
 * A real chain and a real database for the escrow activities: the local chain node (LiteSVM behind
 * JSON-RPC) bootstrapped in a temp dir, a fresh migrated PostgreSQL database, and the activities wired as
 * the control worker wires them. Everything the tests read from the chain goes through JSON-RPC too.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { Connection, LAMPORTS_PER_SOL, PublicKey, type Keypair } from '@solana/web3.js';
import { createEscrowActivities, createEscrowSteps, type EscrowActivityDeps } from '../../../activities/escrow.activities';
import { bootstrapSolana, type SolanaBootstrap } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/chain-node';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { FileCustomerWallets } from '../../../infra/solana/customer-wallets';
import { EscrowClient, type EscrowLease } from '../../../infra/solana/escrow-client';
import { demoPayoutAccounts } from '../../../infra/solana/payout-accounts';
import { deliver, signTransaction } from '../../../infra/solana/transaction-delivery';
import { freshDatabase, type FreshDatabase } from '../../support/postgres';
import { seedCustomer, seedProvider } from '../../support/seed';

export interface EscrowWorld {
  dataDir: string;
  node: ChainNode;
  boot: SolanaBootstrap;
  fresh: FreshDatabase;
  connection: Connection;
  client: EscrowClient;
  wallets: FileCustomerWallets;
  deps: EscrowActivityDeps;
  activities: ReturnType<typeof createEscrowActivities>;
  steps: ReturnType<typeof createEscrowSteps>;
  close(): Promise<void>;
}

export async function startEscrowWorld(): Promise<EscrowWorld> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'escrow-'));
  const node = await startChainNode({ port: 0, dataDir });
  const boot = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir, customerCount: 1 });
  const fresh = await freshDatabase();
  const connection = new Connection(node.rpcUrl, { commitment: 'confirmed', wsEndpoint: node.wsUrl });
  const settlementAuthority = readKeypair(path.join(boot.keysDir, 'settlement-authority.json'));
  const wallets = FileCustomerWallets.inDataDir(dataDir);
  const deps: EscrowActivityDeps = { db: fresh.db, connection, settlementAuthority, customerWallets: wallets,
    payoutAccounts: demoPayoutAccounts({ db: fresh.db, connection, payer: settlementAuthority, dataDir }),
    writeAhead: { pollMs: 50 } };
  return {
    dataDir, node, boot, fresh, connection, client: new EscrowClient(connection), wallets, deps,
    activities: createEscrowActivities(deps),
    steps: createEscrowSteps(deps),
    close: async () => {
      await fresh.drop();
      await node.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A customer with a custodial wallet holding `tokens` base units of the payment token and some SOL for rent. */
export async function fundedCustomer(world: EscrowWorld, tokens: bigint): Promise<{ customerId: string; wallet: Keypair; tokenAccount: PublicKey }> {
  const customerId = await seedCustomer(world.fresh.db);
  const wallet = await world.wallets.create(customerId);
  const faucet = readKeypair(path.join(world.boot.keysDir, 'faucet.json'));
  const mint = new PublicKey(world.boot.mint);
  const tokenAccount = getAssociatedTokenAddressSync(mint, wallet.publicKey);
  const airdrop = await world.connection.requestAirdrop(wallet.publicKey, LAMPORTS_PER_SOL);
  expect((await world.connection.getSignatureStatuses([airdrop])).value[0]?.err).toBeNull();
  const tx = await signTransaction(world.connection, faucet, [
    createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, tokenAccount, wallet.publicKey, mint),
    createMintToInstruction(mint, tokenAccount, faucet.publicKey, tokens),
  ]);
  expect((await deliver(world.connection, tx)).outcome).toBe('confirmed');
  return { customerId, wallet, tokenAccount };
}

/** A lease row (the API's) with a UUID id, as the escrow's lease id must be. */
export async function leaseRow(world: EscrowWorld, customerId: string, gpuCount: number, maxPricePerGpuHour: bigint, durationSeconds: number): Promise<string> {
  const id = randomUUID();
  await world.fresh.db.insertInto('leases').values({ id, customer_id: customerId, status: 'reserving', gpu_model: 'H100',
    gpu_count: gpuCount, min_tier: 2, max_price_per_gpu_hour: maxPricePerGpuHour, duration_seconds: durationSeconds,
    image: 'lease-engine/busybox:local', request_hash: randomUUID() }).execute();
  return id;
}

export async function providers(world: EscrowWorld, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, () => seedProvider(world.fresh.db)));
}

/** Base units in a token account (0 when it does not exist). */
export async function tokenBalance(world: EscrowWorld, account: PublicKey | string): Promise<bigint> {
  const address = typeof account === 'string' ? new PublicKey(account) : account;
  if ((await world.connection.getAccountInfo(address)) === null) return 0n;
  return BigInt((await world.connection.getTokenAccountBalance(address)).value.amount);
}

export async function payoutAccountOf(world: EscrowWorld, providerId: string): Promise<string | null> {
  const row = await world.fresh.db.selectFrom('providers').select('payout_token_account').where('id', '=', providerId).executeTakeFirstOrThrow();
  return row.payout_token_account;
}

export async function leaseOnChain(world: EscrowWorld, leaseId: string): Promise<EscrowLease> {
  const lease = await world.client.fetchLease(world.client.leaseAddress(leaseId));
  if (lease === null) throw new Error(`no Lease account for ${leaseId}`);
  return lease;
}

/** The money invariant on-chain: paid to providers + fees + burned + refunded = deposited. */
export function chainBooksBalance(lease: EscrowLease): bigint {
  return lease.paidToProviders + lease.fees + lease.burned + lease.refunded - lease.deposited;
}

/** Waits until the chain's clock has moved `seconds` whole seconds past now (the rate cap counts whole seconds). */
export async function chainSeconds(seconds: number): Promise<void> {
  const target = (Math.floor(Date.now() / 1000) + seconds) * 1000 + 50;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, target - Date.now())));
}
