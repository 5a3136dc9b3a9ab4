/**
 * Durability of the local chain node run as its own process: kill -9 right after a confirmed transaction,
 * start it again on the same data, and the accounts, the signature's status and transaction, the blockhashes
 * handed out, and the refusal to run the same transaction twice are all still there.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Connection, PublicKey, sendAndConfirmTransaction, Transaction } from '@solana/web3.js';
import { bootstrapSolana } from '../../../infra/solana/bootstrap';
import { readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { approveAllowance } from '../../../infra/solana/customer-allowance';
import { EscrowClient } from '../../../infra/solana/escrow-client';
import { buildProgram } from '../program/escrow-harness';
import {
  freePortPair,
  rpc,
  signedWire,
  spawnChainNode,
  tempDataDir,
  type ChainNodeProcess,
} from './chain-node-fixtures';

const TOKEN = 1_000_000n;
let dataDir: string;
let running: ChainNodeProcess | undefined;

beforeAll(() => {
  buildProgram();
  dataDir = tempDataDir();
});

afterAll(async () => {
  running?.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('kill -9 after a confirmed transaction loses nothing; SIGTERM exits cleanly', async () => {
  const port = await freePortPair();
  running = await spawnChainNode(dataDir, port);
  const solana = await bootstrapSolana({ rpcUrl: running.rpcUrl, dataDir });
  const connection = new Connection(running.rpcUrl, 'confirmed');
  const client = new EscrowClient(connection);
  const customer = readKeypair(solana.customers[0]!.keypairPath);
  const authority = readKeypair(path.join(solana.keysDir, 'settlement-authority.json'));
  const customerToken = new PublicKey(solana.customers[0]!.tokenAccount);
  const leaseId = randomUUID();
  // The customer approves with its own key; the settlement authority alone opens and tops up from that allowance.
  await approveAllowance(connection, customer, { mint: new PublicKey(solana.mint), decimals: solana.decimals, amount: 1_000n * TOKEN });
  const open = await client.openLease({ customer: customer.publicKey, settlementAuthority: authority.publicKey, leaseId,
    mint: new PublicKey(solana.mint), customerToken, maxRatePerSecond: 100_000n, durationSeconds: 3_600n, deposit: 250n * TOKEN,
    windowSeconds: 7_200n });

  const { wire, blockhash, lastValidBlockHeight } = await signedWire(connection, [open], [authority]);
  const started = performance.now();
  const signature = await connection.sendRawTransaction(wire);
  await connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }, 'confirmed');
  const roundTrip = performance.now() - started;
  running.child.kill('SIGKILL');
  expect(await running.exited).toBeNull();

  running = await spawnChainNode(dataDir, port);
  const restartedAt = Date.now();
  const lease = await client.fetchLease(client.leaseAddress(leaseId));
  expect(lease).toMatchObject({ deposited: 250n * TOKEN, status: 'open' });
  expect((await connection.getTokenAccountBalance(client.vaultAddress(client.leaseAddress(leaseId)))).value.amount)
    .toBe((250n * TOKEN).toString());
  const { value: [status] } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  expect(status).toMatchObject({ err: null, confirmationStatus: 'finalized' });
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  expect(client.parseEvents(tx!.meta!.logMessages!).map((e) => e.name)).toEqual(['leaseOpened']);
  expect((await connection.isBlockhashValid(blockhash)).value).toBe(true);

  // The engine retries by re-sending the signed transaction: it is refused, and nothing is paid twice.
  const again = await rpc(running.rpcUrl, 'sendTransaction', [wire.toString('base64'), { encoding: 'base64' }]);
  expect(again.error).toMatchObject({ code: -32002, data: { err: 'AlreadyProcessed' } });
  expect(await connection.sendRawTransaction(wire, { skipPreflight: true })).toBe(signature);
  expect((await connection.getTokenAccountBalance(customerToken)).value.amount).toBe((9_750n * TOKEN).toString());

  // The restarted node runs the program, and bootstrap finds everything in place.
  const topUp = await client.topUp({ settlementAuthority: authority.publicKey, lease: client.leaseAddress(leaseId),
    customer: customer.publicKey, customerToken, amount: 5n * TOKEN, extendSeconds: 100n });
  await sendAndConfirmTransaction(connection, new Transaction().add(topUp), [authority]);
  expect(await client.fetchLease(client.leaseAddress(leaseId))).toMatchObject({ deposited: 255n * TOKEN, durationSeconds: 3_700n });
  expect((await connection.getTokenAccountBalance(customerToken)).value.amount).toBe((9_745n * TOKEN).toString());
  const count = await connection.getTransactionCount();
  expect(await bootstrapSolana({ rpcUrl: running.rpcUrl, dataDir })).toEqual(solana);
  expect(await connection.getTransactionCount()).toBe(count);

  // web3.js re-opens the WebSockets the kill dropped (one try a second) and closes them once idle; stopping
  // before that would leave them retrying against a node that is gone.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, restartedAt + 1_600 - Date.now())));
  running.child.kill('SIGTERM');
  expect(await running.exited).toBe(0);
  running = undefined;
  console.log(`sendRawTransaction + confirmTransaction round trip to the node process: ${roundTrip.toFixed(1)} ms`);
});
