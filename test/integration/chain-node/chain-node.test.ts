/**
 * The local chain node through the clients the engine uses (`@solana/web3.js` Connection, `@coral-xyz/anchor`)
 * and raw JSON-RPC: bootstrap, a customer's approval of the escrow program's allowance, a lease opened from it by
 * the settlement authority alone and confirmed over the WebSocket, found by memcmp, its events parsed from
 * getTransaction, refusals shaped like a validator's, bad requests answered, wall-clock time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { AnchorError, parseIdlErrors, translateError } from '@coral-xyz/anchor';
import bs58 from 'bs58';
import { createTransferInstruction } from '@solana/spl-token';
import {
  Connection,
  PublicKey,
  SYSVAR_CLOCK_PUBKEY,
  SendTransactionError,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
  type Keypair,
  type ParsedAccountData,
} from '@solana/web3.js';
import WebSocket from 'ws';
import { bootstrapSolana, type SolanaBootstrap } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/main';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { readAllowance } from '../../../infra/solana/allowance';
import { approveAllowance } from '../../../infra/solana/customer-allowance';
import {
  EscrowClient,
  LEASE_ACCOUNT_SIZE,
  LEASE_CUSTOMER_OFFSET,
  LEASE_ESCROW_IDL,
  MIN_RECLAIM_GRACE_SECONDS,
} from '../../../infra/solana/escrow-client';
import { buildProgram } from '../program/escrow-harness';
import { rawRpc, rpc, signedWire, tempDataDir, type RpcResponse } from './chain-node-fixtures';

const TOKEN = 1_000_000n;
let dataDir: string;
let node: ChainNode;
let solana: SolanaBootstrap;
let connection: Connection;
let client: EscrowClient;
/** The customer's own key: it approves the allowance and signs nothing of a lease's. */
let customer: Keypair;
/** Signs every open_lease alone, as the engine's control worker does. */
let authority: Keypair;
let customerToken: PublicKey;
let mint: PublicKey;

beforeAll(async () => {
  buildProgram();
  dataDir = tempDataDir();
  node = await startChainNode({ port: 0, dataDir });
  solana = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir });
  connection = new Connection(node.rpcUrl, 'confirmed');
  client = new EscrowClient(connection);
  customer = readKeypair(solana.customers[0]!.keypairPath);
  authority = readKeypair(path.join(solana.keysDir, 'settlement-authority.json'));
  customerToken = new PublicKey(solana.customers[0]!.tokenAccount);
  mint = new PublicKey(solana.mint);
  // The customer approves 1,000 tokens for the program's PDA of its wallet; every lease below draws on it.
  await approveAllowance(connection, customer, { mint, decimals: solana.decimals, amount: 1_000n * TOKEN });
});

afterAll(async () => {
  await node?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const openLeaseIx = (leaseId: string, deposit: bigint) =>
  client.openLease({ customer: customer.publicKey, settlementAuthority: authority.publicKey, leaseId, mint, customerToken,
    maxRatePerSecond: 50_000n, durationSeconds: 3_600n, deposit, windowSeconds: 3_600n });

describe('local chain node', () => {
  test('bootstrap sets up the market once; running it again changes nothing', async () => {
    const config = await client.fetchConfig();
    expect(config).toMatchObject({ feeBps: 500, burnBps: 2_000, reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS });
    expect(config!.mint.toBase58()).toBe(solana.mint);
    expect(config!.treasury.toBase58()).toBe(solana.treasury);
    expect(config!.settlementAuthority.toBase58()).toBe(solana.settlementAuthority);
    const authorityFile = path.join(dataDir, 'keys', 'settlement-authority.json');
    expect(readKeypair(authorityFile).publicKey.toBase58()).toBe(solana.settlementAuthority);
    const parsedMint = (await connection.getParsedAccountInfo(mint)).value!.data as ParsedAccountData;
    expect(parsedMint.parsed).toMatchObject({ type: 'mint', info: { decimals: 6, mintAuthority: expect.any(String) } });
    expect(solana.customers).toHaveLength(3);
    for (const c of solana.customers) {
      const balance = await connection.getTokenAccountBalance(new PublicKey(c.tokenAccount));
      const amount = (10_000n * TOKEN).toString();
      expect(balance.value).toMatchObject({ amount, decimals: 6, uiAmountString: '10000' });
      expect(await connection.getBalance(new PublicKey(c.wallet))).toBeGreaterThan(0);
    }
    const treasury = new PublicKey(solana.treasury);
    const many = await connection.getMultipleAccountsInfo([mint, treasury, PublicKey.unique()]);
    expect(many.map((info) => info?.data.length ?? null)).toEqual([82, 165, null]);
    const owned = await connection.getTokenAccountsByOwner(customer.publicKey, { mint });
    expect(owned.value.map((a) => a.pubkey.toBase58())).toEqual([customerToken.toBase58()]);
    const parsed = await connection.getParsedTokenAccountsByOwner(customer.publicKey, { mint });
    expect(parsed.value[0]!.account.data.parsed.info.tokenAmount.uiAmountString).toBe('10000');
    const before = await connection.getTransactionCount();
    const again = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir });
    expect(again).toEqual(solana);
    expect(await connection.getTransactionCount()).toBe(before);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'solana.json'), 'utf8'))).toEqual(solana);
  });

  test('a lease opened with sendAndConfirmTransaction is found by memcmp, with its balance and events', async () => {
    const leaseId = randomUUID();
    const allowance = await readAllowance(connection, { wallet: customer.publicKey, mint });
    const signature = await sendAndConfirmTransaction(connection, new Transaction().add(await openLeaseIx(leaseId,
      100n * TOKEN)), [authority]);
    const lease = client.leaseAddress(leaseId);

    const filters = (owner: PublicKey) => [{ dataSize: LEASE_ACCOUNT_SIZE },
      { memcmp: { offset: LEASE_CUSTOMER_OFFSET, bytes: owner.toBase58() } }];
    const mine = await connection.getProgramAccounts(client.programId, { filters: filters(customer.publicKey) });
    expect(mine.map((a) => a.pubkey.toBase58())).toContain(lease.toBase58());
    const decoded = client.decodeLease(mine.find((a) => a.pubkey.equals(lease))!.account.data);
    expect(decoded).toMatchObject({ deposited: 100n * TOKEN, status: 'open' });
    expect(decoded.customer.equals(customer.publicKey)).toBe(true);
    const other = new PublicKey(solana.customers[1]!.wallet);
    expect(await connection.getProgramAccounts(client.programId, { filters: filters(other) })).toEqual([]);

    expect((await connection.getTokenAccountBalance(client.vaultAddress(lease))).value.uiAmountString).toBe('100');
    expect((await connection.getTokenAccountBalance(customerToken)).value.amount).toBe((9_900n * TOKEN).toString());
    expect(await readAllowance(connection, { wallet: customer.publicKey, mint })).toMatchObject({ approved: true,
      allowance: allowance.allowance - 100n * TOKEN });

    const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(tx?.meta?.err).toBeNull();
    expect(tx?.meta?.fee).toBe(5_000); // one signature: the settlement authority's; the customer signs nothing
    const events = client.parseEvents(tx!.meta!.logMessages!);
    expect(events.map((e) => e.name)).toEqual(['leaseOpened']);
    expect(String(events[0]!.data.deposit)).toBe((100n * TOKEN).toString());
    const vaultAfter = tx!.meta!.postTokenBalances!.find((b) => b.uiTokenAmount.amount === (100n * TOKEN).toString());
    expect(vaultAfter?.mint).toBe(solana.mint);
    const { value: [status] } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
    expect(status).toMatchObject({ err: null, confirmationStatus: 'finalized' });
  });

  test('a refused preflight is error -32002 with err and logs, which Anchor turns into the named error', async () => {
    const ix = await openLeaseIx(randomUUID(), 0n);
    const error = await sendAndConfirmTransaction(connection, new Transaction().add(ix), [authority]).catch((e) => e);
    expect(error).toBeInstanceOf(SendTransactionError);
    expect((error as SendTransactionError).logs?.join('\n')).toContain(`Program ${client.programId.toBase58()} failed`);
    const translated = translateError(error, parseIdlErrors(LEASE_ESCROW_IDL));
    expect(translated).toBeInstanceOf(AnchorError);
    expect((translated as AnchorError).error.errorCode).toEqual({ code: 'ZeroAmount', number: 6025 });

    const { wire } = await signedWire(connection, [ix], [authority]);
    const raw = await rpc(node.rpcUrl, 'sendTransaction', [wire.toString('base64'), { encoding: 'base64' }]);
    expect(raw.error?.code).toBe(-32002);
    expect(raw.error?.data?.err).toEqual({ InstructionError: [0, { Custom: 6025 }] });
    expect(raw.error?.message).toContain('custom program error: 0x1789');
    const base58 = await rpc(node.rpcUrl, 'sendTransaction', [bs58.encode(wire)]);
    expect(base58.error?.data?.err).toEqual({ InstructionError: [0, { Custom: 6025 }] });

    // Without preflight it lands, fails, and costs the fee payer the fee of its signature, as on a cluster;
    // the tokens do not move.
    const lamports = await connection.getBalance(authority.publicKey);
    const tokens = (await connection.getTokenAccountBalance(customerToken)).value.amount;
    const signature = await connection.sendRawTransaction(wire, { skipPreflight: true });
    const { value: [status] } = await connection.getSignatureStatuses([signature]);
    expect(status?.err).toEqual({ InstructionError: [0, { Custom: 6025 }] });
    expect(await connection.getBalance(authority.publicKey)).toBe(lamports - 5_000);
    expect((await connection.getTokenAccountBalance(customerToken)).value.amount).toBe(tokens);
  });

  test('simulateTransaction runs without committing and returns logs, units and the accounts asked for', async () => {
    const leaseId = randomUUID();
    const lease = client.leaseAddress(leaseId);
    const { blockhash } = await connection.getLatestBlockhash();
    const message = new TransactionMessage({ payerKey: authority.publicKey, recentBlockhash: blockhash,
      instructions: [await openLeaseIx(leaseId, 7n * TOKEN)] }).compileToV0Message();
    const unsigned = new VersionedTransaction(message);
    const accounts = { encoding: 'base64' as const, addresses: [lease.toBase58()] };
    const { value } = await connection.simulateTransaction(unsigned, { sigVerify: false, replaceRecentBlockhash: true,
      accounts });
    expect(value.err).toBeNull();
    expect(value.unitsConsumed).toBeGreaterThan(0);
    expect(client.parseEvents(value.logs!).map((e) => e.name)).toEqual(['leaseOpened']);
    const simulated = value.accounts![0]!;
    expect(simulated.owner).toBe(client.programId.toBase58());
    expect(client.decodeLease(Buffer.from(simulated.data[0]!, 'base64')).deposited).toBe(7n * TOKEN);
    expect(await connection.getAccountInfo(lease)).toBeNull();

    const { value: unsignedRefused } = await connection.simulateTransaction(unsigned, { sigVerify: true });
    expect(unsignedRefused.err).toBe('SignatureFailure');
  });

  test('unknown methods and malformed requests are JSON-RPC errors, and the node keeps answering', async () => {
    const unknown = await rpc(node.rpcUrl, 'getNoSuchThing');
    expect(unknown.error).toMatchObject({ code: -32601, message: expect.stringContaining('getNoSuchThing') });
    expect(((await rawRpc(node.rpcUrl, '{"jsonrpc": "2.0", "method": ')) as RpcResponse).error?.code).toBe(-32700);
    expect(((await rawRpc(node.rpcUrl, { id: 7 })) as RpcResponse).error?.code).toBe(-32600);
    expect(((await rawRpc(node.rpcUrl, [])) as RpcResponse).error?.code).toBe(-32600);
    const badParams = [
      ['getAccountInfo', ['not-a-key']],
      ['getBalance', []],
      ['sendTransaction', ['AAAA', { encoding: 'base64' }]],
      ['getProgramAccounts', [client.programId.toBase58(), { filters: [{ memcmp: { offset: -1, bytes: '' } }] }]],
      ['getTokenAccountBalance', [customer.publicKey.toBase58()]],
    ] as const;
    for (const [method, params] of badParams) {
      expect((await rpc(node.rpcUrl, method, [...params])).error?.code).toBe(-32602);
    }
    const batch = (await rawRpc(node.rpcUrl, [
      { jsonrpc: '2.0', id: 1, method: 'getSlot' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
    ])) as RpcResponse[];
    expect(batch.map((r) => [r.id, typeof r.result, r.error?.code])).toEqual([[1, 'number', undefined],
      [2, 'undefined', -32601]]);

    const socket = new WebSocket(node.wsUrl);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const answer = new Promise<RpcResponse>((resolve) => socket.once('message', (d) => resolve(JSON.parse(String(d)))));
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'slotsUpdatesSubscribe' }));
    expect((await answer).error?.code).toBe(-32601);
    socket.close();

    expect((await rpc(node.rpcUrl, 'getHealth')).result).toBe('ok');
    expect(await connection.getSlot()).toBeGreaterThanOrEqual(0);
  });

  test('the clock follows wall time: Clock sysvar, block time, slots, and the lease start', async () => {
    const clock = (await connection.getAccountInfo(SYSVAR_CLOCK_PUBKEY))!.data;
    const nowSeconds = Date.now() / 1000;
    expect(Number(clock.readBigInt64LE(32))).toBeGreaterThanOrEqual(Math.floor(nowSeconds) - 2);
    expect(Number(clock.readBigInt64LE(32))).toBeLessThanOrEqual(Math.ceil(nowSeconds) + 1);
    const slot = await connection.getSlot();
    expect(Math.abs((await connection.getBlockTime(slot))! - nowSeconds)).toBeLessThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await connection.getSlot()).toBeGreaterThanOrEqual(slot + 2);

    const leaseId = randomUUID();
    await sendAndConfirmTransaction(connection, new Transaction().add(await openLeaseIx(leaseId, TOKEN)), [authority]);
    const lease = await client.fetchLease(client.leaseAddress(leaseId));
    expect(Math.abs(Number(lease!.startTime) - Date.now() / 1000)).toBeLessThanOrEqual(2);
  });

  test('subscriptions and latency: 20 token transfers confirmed over the WebSocket', async () => {
    const recipient = new PublicKey(solana.customers[1]!.tokenAccount);
    const changes: number[] = [];
    const subscription = connection.onAccountChange(recipient, (info) => changes.push(info.data.length), 'confirmed');
    const logs: string[] = [];
    const logsSubscription = connection.onLogs(recipient, (l) => logs.push(l.signature), 'confirmed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await sendAndConfirmTransaction(connection, new Transaction().add(createTransferInstruction(customerToken,
        recipient, customer.publicKey, 1_000n + BigInt(i))), [customer]);
      latencies.push(performance.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    await connection.removeAccountChangeListener(subscription);
    await connection.removeOnLogsListener(logsSubscription);
    expect(changes).toHaveLength(20);
    expect(logs).toHaveLength(20);
    latencies.sort((a, b) => a - b);
    const p50 = latencies[10]!;
    console.log(`sendAndConfirmTransaction round trip over ${latencies.length} transfers: ` +
      `p50 ${p50.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
    expect(p50).toBeLessThan(1_000);
  });
});
