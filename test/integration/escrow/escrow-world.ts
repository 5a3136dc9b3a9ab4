/**
 * A real chain and a real database for the escrow activities: the local chain node (LiteSVM behind
 * JSON-RPC) bootstrapped in a temp dir, a fresh migrated PostgreSQL database, and the activities wired as
 * the control worker wires them: with the settlement authority's key and no customer's. Customers act with
 * their own keypairs, as real ones would (approve an allowance for the escrow program's PDA, revoke it, reclaim).
 * Everything the tests read from the chain goes through JSON-RPC too. The chain's clock can be moved ahead
 * (never back) to reach a lease's reclaim date without waiting hours.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BorshInstructionCoder } from '@coral-xyz/anchor';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { Connection, Keypair, LAMPORTS_PER_SOL, PublicKey, type ParsedTransactionWithMeta } from '@solana/web3.js';
import { createEscrowActivities, createEscrowSteps, type EscrowActivityDeps } from '../../../activities/escrow.activities';
import { registerCustomerWallet } from '../../../infra/db/repositories/customers.repo';
import { escrowBooks } from '../../../infra/db/repositories/escrow-ledger.repo';
import { readAllowance, type Allowance } from '../../../infra/solana/allowance';
import { bootstrapSolana, type SolanaBootstrap } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/chain-node';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { approveAllowance } from '../../../infra/solana/customer-allowance';
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
  mint: PublicKey;
  deps: EscrowActivityDeps;
  activities: ReturnType<typeof createEscrowActivities>;
  steps: ReturnType<typeof createEscrowSteps>;
  /** The chain's clock now, in unix milliseconds (wall time plus what advanceChainClock added). */
  chainNowMs(): number;
  /** Moves the chain's clock `seconds` ahead of wall time for good. */
  advanceChainClock(seconds: number): void;
  close(): Promise<void>;
}

/** One world for the test file: started before its first test, closed after its last; `use` is given it once started. */
export function escrowWorldPerFile(use: (world: EscrowWorld) => void): void {
  let world: EscrowWorld | undefined;
  beforeAll(async () => {
    world = await startEscrowWorld();
    use(world);
  });
  afterAll(async () => {
    await world?.close();
  });
}

export async function startEscrowWorld(): Promise<EscrowWorld> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'escrow-'));
  let clockOffsetMs = 0;
  const node = await startChainNode({ port: 0, dataDir, nowMs: () => Date.now() + clockOffsetMs });
  const boot = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir, customerCount: 1 });
  const fresh = await freshDatabase();
  const connection = new Connection(node.rpcUrl, { commitment: 'confirmed', wsEndpoint: node.wsUrl });
  const settlementAuthority = readKeypair(path.join(boot.keysDir, 'settlement-authority.json'));
  const deps: EscrowActivityDeps = { db: fresh.db, connection, settlementAuthority,
    payoutAccounts: demoPayoutAccounts({ db: fresh.db, connection, payer: settlementAuthority, dataDir }),
    writeAhead: { pollMs: 50 } };
  return {
    dataDir, node, boot, fresh, connection, client: new EscrowClient(connection), mint: new PublicKey(boot.mint), deps,
    activities: createEscrowActivities(deps),
    steps: createEscrowSteps(deps),
    chainNowMs: () => Date.now() + clockOffsetMs,
    advanceChainClock: (seconds) => {
      clockOffsetMs += seconds * 1000;
    },
    close: async () => {
      await fresh.drop();
      // web3.js closes the WebSocket of a confirmation (approveAllowance's) after 500 ms idle; a node closed before
      // that leaves it reconnecting forever.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await node.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FundedCustomer {
  customerId: string;
  /** The customer's own key: only the test, acting as the customer, uses it. */
  wallet: Keypair;
  tokenAccount: PublicKey;
}

/**
 * A customer with its own wallet holding `tokens` base units of the payment token and some SOL for fees, registered
 * with its account, that approved `allowance` base units (default: all of them; null: no approval) for the program.
 */
export async function fundedCustomer(world: EscrowWorld, tokens: bigint, allowance: bigint | null = tokens): Promise<FundedCustomer> {
  const customerId = await seedCustomer(world.fresh.db);
  const wallet = Keypair.generate();
  // What POST /v1/wallet records once the signature checks out (test/integration/api/deposit-check.test.ts).
  await registerCustomerWallet(world.fresh.db, customerId, wallet.publicKey.toBase58());
  const faucet = readKeypair(path.join(world.boot.keysDir, 'faucet.json'));
  const tokenAccount = getAssociatedTokenAddressSync(world.mint, wallet.publicKey);
  const airdrop = await world.connection.requestAirdrop(wallet.publicKey, LAMPORTS_PER_SOL);
  expect((await world.connection.getSignatureStatuses([airdrop])).value[0]?.err).toBeNull();
  const tx = await signTransaction(world.connection, faucet, [
    createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, tokenAccount, wallet.publicKey, world.mint),
    createMintToInstruction(world.mint, tokenAccount, faucet.publicKey, tokens),
  ]);
  expect((await deliver(world.connection, tx)).outcome).toBe('confirmed');
  if (allowance !== null) await approve(world, wallet, allowance);
  return { customerId, wallet, tokenAccount };
}

/** The customer, with its own key, approves `amount` for the program's PDA of its wallet (replacing any approval). */
export async function approve(world: EscrowWorld, wallet: Keypair, amount: bigint): Promise<void> {
  await approveAllowance(world.connection, wallet, { mint: world.mint, decimals: world.boot.decimals, amount });
}

export async function allowanceOf(world: EscrowWorld, wallet: Keypair): Promise<Allowance> {
  return readAllowance(world.connection, { wallet: wallet.publicKey, mint: world.mint });
}

/** A lease row (the API's) with a UUID id, as the escrow's lease id must be. */
export async function leaseRow(world: EscrowWorld, customerId: string, gpuCount: number, maxPricePerGpuHour: bigint,
  durationSeconds: number | null): Promise<string> {
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

/** Waits until the chain's clock reads at least `unixSeconds`. */
export async function untilChainTime(world: EscrowWorld, unixSeconds: bigint | number): Promise<void> {
  const target = Number(unixSeconds) * 1000 + 50;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, target - world.chainNowMs())));
}

/**
 * A landed transaction as the chain has it: its instructions (the escrow program's by name, others by program id)
 * and the escrow program's events, in order.
 */
export async function landedTransaction(world: EscrowWorld, signature: string): Promise<{ instructions: string[]; events: string[];
  tx: ParsedTransactionWithMeta }> {
  const tx = await world.connection.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  if (tx === null) throw new Error(`no transaction ${signature} on the chain`);
  expect(tx.meta?.err).toBeNull();
  const instructions = tx.transaction.message.instructions.map((ix) => {
    if (!ix.programId.equals(world.client.programId) || !('data' in ix)) return ix.programId.toBase58();
    return (world.client.program.coder.instruction as BorshInstructionCoder).decode(ix.data, 'base58')?.name ?? 'unknown';
  });
  return { instructions, events: world.client.parseEvents(tx.meta!.logMessages!).map((e) => e.name), tx };
}

/** The ledger's books and the chain's figures of a lease agree, and `paid + fees + burned + refunded = deposited` on both. */
export async function expectEscrowBooksBalance(world: EscrowWorld, leaseId: string, lastPeriod: number): Promise<EscrowLease> {
  const lease = await leaseOnChain(world, leaseId);
  expect(chainBooksBalance(lease)).toBe(0n);
  const books = (await escrowBooks(world.fresh.db, leaseId))!;
  expect(books).toEqual({ deposited: lease.deposited.toString(), paidToProviders: lease.paidToProviders.toString(), fees: lease.fees.toString(),
    burned: lease.burned.toString(), refunded: lease.refunded.toString(), lastPeriod });
  expect(BigInt(books.paidToProviders) + BigInt(books.fees) + BigInt(books.burned) + BigInt(books.refunded)).toBe(BigInt(books.deposited));
  return lease;
}
