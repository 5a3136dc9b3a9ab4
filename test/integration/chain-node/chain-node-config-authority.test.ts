/**
 * The local chain node deploys lease_escrow under the upgradeable loader, with the escrow admin key
 * (`<dataDir>/keys/escrow-admin.json`, made by the node when it starts first) as its upgrade authority: through
 * JSON-RPC a stranger cannot initialize the Config ahead of the bootstrap, and a restart keeps the deployment as
 * the chain has it, an immutable program included.
 */
import fs from 'node:fs';
import { AnchorError } from '@coral-xyz/anchor';
import { createAccount, createMint } from '@solana/spl-token';
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  Transaction,
  TransactionInstruction,
  sendAndConfirmTransaction,
  type PublicKey,
} from '@solana/web3.js';
import { bootstrapSolana } from '../../../infra/solana/bootstrap';
import { startChainNode, type ChainNode } from '../../../infra/solana/chain-node/chain-node';
import { ESCROW_ADMIN_KEY, keyFile, readKeypair } from '../../../infra/solana/chain-node/keypair-file';
import { upgradeAuthorityOf } from '../../../infra/solana/chain-node/upgradeable-program';
import {
  EscrowClient,
  LEASE_ESCROW_PROGRAM_ID,
  MIN_RECLAIM_GRACE_SECONDS,
  UPGRADEABLE_LOADER_ID,
  programDataAddress,
} from '../../../infra/solana/escrow-client';
import { buildProgram } from '../program/escrow-harness';
import { rpc, signedWire, tempDataDir, type RpcResponse } from './chain-node-fixtures';

let dataDir: string;
let node: ChainNode | undefined;

beforeAll(() => {
  buildProgram();
  dataDir = tempDataDir();
});

afterAll(async () => {
  await node?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ connection: Connection; client: EscrowClient }> {
  await node?.close();
  node = await startChainNode({ port: 0, dataDir });
  const connection = new Connection(node.rpcUrl, 'confirmed');
  return { connection, client: new EscrowClient(connection) };
}

async function upgradeAuthority(connection: Connection): Promise<PublicKey | null | undefined> {
  const info = await connection.getAccountInfo(programDataAddress());
  return info === null ? undefined : upgradeAuthorityOf(info.data);
}

async function funded(connection: Connection): Promise<Keypair> {
  const keypair = Keypair.generate();
  const signature = await connection.requestAirdrop(keypair.publicKey, 10 * LAMPORTS_PER_SOL);
  await connection.confirmTransaction({ signature, ...(await connection.getLatestBlockhash()) }, 'confirmed');
  return keypair;
}

test('deployed with the escrow admin key as upgrade authority; a stranger cannot initialize the Config, the bootstrap can', async () => {
  const { connection, client } = await start();
  const admin = readKeypair(keyFile(dataDir, ESCROW_ADMIN_KEY));
  const program = (await connection.getAccountInfo(LEASE_ESCROW_PROGRAM_ID))!;
  expect(program.executable).toBe(true);
  expect(program.owner.equals(UPGRADEABLE_LOADER_ID)).toBe(true);
  expect((await upgradeAuthority(connection))?.toBase58()).toBe(admin.publicKey.toBase58());

  // A stranger with its own mint and treasury races the bootstrap.
  const stranger = await funded(connection);
  const mint = await createMint(connection, stranger, stranger.publicKey, null, 6);
  const treasury = await createAccount(connection, stranger, mint, stranger.publicKey, Keypair.generate());
  const ix = await client.initializeConfig({ admin: stranger.publicKey, mint, treasury,
    settlementAuthority: stranger.publicKey, feeBps: 10_000, burnBps: 0, reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS });
  const { wire } = await signedWire(connection, [ix], [stranger]);
  const preflight = await rpc(node!.rpcUrl, 'sendTransaction', [wire.toString('base64'), { encoding: 'base64' }]);
  const error = preflight.error as NonNullable<RpcResponse['error']>;
  expect(error).toMatchObject({ code: -32002, data: { err: { InstructionError: [0, { Custom: 6035 }] } } });
  expect(AnchorError.parse(error.data!.logs!)?.error.errorCode.code).toBe('NotUpgradeAuthority');
  // Landed without preflight, it fails on-chain just the same.
  const signature = await connection.sendRawTransaction(wire, { skipPreflight: true });
  const { value: [status] } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  expect(status?.err).toEqual({ InstructionError: [0, { Custom: 6035 }] });
  expect(await connection.getAccountInfo(client.configAddress)).toBeNull();

  const solana = await bootstrapSolana({ rpcUrl: node!.rpcUrl, wsUrl: node!.wsUrl, dataDir });
  expect(solana.admin).toBe(admin.publicKey.toBase58());
  expect((await client.fetchConfig())?.admin.toBase58()).toBe(admin.publicKey.toBase58());
});

test('a restart keeps the deployment as it is: the same upgrade authority, and none once made immutable', async () => {
  let { connection, client } = await start();
  const admin = readKeypair(keyFile(dataDir, ESCROW_ADMIN_KEY));
  expect((await upgradeAuthority(connection))?.toBase58()).toBe(admin.publicKey.toBase58());

  // `solana program set-upgrade-authority --final`: the loader's SetAuthority (4) with no new authority.
  const final = new TransactionInstruction({
    programId: UPGRADEABLE_LOADER_ID,
    keys: [
      { pubkey: programDataAddress(), isSigner: false, isWritable: true },
      { pubkey: admin.publicKey, isSigner: true, isWritable: false },
    ],
    data: Buffer.from([4, 0, 0, 0]),
  });
  await sendAndConfirmTransaction(connection, new Transaction().add(final), [admin]);
  expect(await upgradeAuthority(connection)).toBeNull();

  ({ connection, client } = await start());
  expect(await upgradeAuthority(connection)).toBeNull();
  // The program still runs: its admin changes the Config.
  const config = (await client.fetchConfig())!;
  const update = await client.updateConfig({ admin: admin.publicKey, treasury: config.treasury, newAdmin: admin.publicKey,
    settlementAuthority: config.settlementAuthority, feeBps: 400, burnBps: config.burnBps,
    reclaimGraceSeconds: config.reclaimGraceSeconds });
  await sendAndConfirmTransaction(connection, new Transaction().add(update), [admin]);
  expect((await client.fetchConfig())?.feeBps).toBe(400);
});
