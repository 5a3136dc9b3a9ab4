/**
 * The local chain node: LiteSVM running the lease_escrow program behind Solana's JSON-RPC (HTTP on `port`)
 * and PubSub (WebSocket on `port + 1`, where web3.js expects it), with its state under `<dataDir>/chain/`.
 * lease_escrow is deployed under the upgradeable loader with the escrow admin key `<dataDir>/keys/escrow-admin.json`
 * as its upgrade authority: the node starts first, so it creates that key when missing, and the bootstrap, which
 * initializes the Config with it, loads the same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { PublicKey } from '@solana/web3.js';
import { LEASE_ESCROW_PROGRAM_ID } from '../escrow-client';
import { Chain } from './chain';
import { ESCROW_ADMIN_KEY, keyFile, loadOrCreateKeypair } from './keypair-file';
import { RPC_METHODS } from './methods';
import { startRpcServer, type RpcServer } from './rpc-server';
import { startPubsubServer, type PubsubServer } from './ws-server';

export const DEFAULT_PROGRAM_PATH = path.resolve(
  __dirname,
  '../../../programs/lease_escrow/target/deploy/lease_escrow.so',
);

export interface ChainNodeOptions {
  /** HTTP JSON-RPC port; PubSub listens on port + 1. 0 picks a free pair. */
  port: number;
  dataDir: string;
  /** The built lease_escrow `.so` (default: the repository's build output). */
  programPath?: string;
  /** Deployed at LEASE_ESCROW_PROGRAM_ID unless given. */
  programId?: PublicKey;
  /** The program's upgrade authority at its first deployment on this chain (default: the escrow admin key). */
  upgradeAuthority?: PublicKey;
  host?: string;
  log?: Logger;
  /** A commit that could not be persisted; the default logs it (a process host should exit). */
  onFatal?: (error: Error) => void;
  /** The chain's wall clock (default Date.now): tests move it ahead to reach dates such as a lease's reclaim. */
  nowMs?: () => number;
}

export interface ChainNode {
  rpcUrl: string;
  wsUrl: string;
  chain: Chain;
  close(): Promise<void>;
}

export async function startChainNode(options: ChainNodeOptions): Promise<ChainNode> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? pino({ name: 'chain-node', level: 'warn' });
  const programPath = options.programPath ?? DEFAULT_PROGRAM_PATH;
  if (!fs.existsSync(programPath)) {
    throw new Error(`no lease_escrow program at ${programPath}: build it with \`npm run build:program\``);
  }
  const upgradeAuthority = options.upgradeAuthority
    ?? loadOrCreateKeypair(keyFile(options.dataDir, ESCROW_ADMIN_KEY)).publicKey;
  const chain = Chain.open({
    dir: path.join(options.dataDir, 'chain'),
    programs: [{ programId: options.programId ?? LEASE_ESCROW_PROGRAM_ID, path: programPath, upgradeAuthority }],
    onFatal: options.onFatal ?? ((error) => log.fatal({ err: error }, 'chain state could not be persisted')),
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
  });
  chain.onCommit((record) => log.debug({ signature: record.signature, slot: record.slot, err: record.err }, 'landed'));
  try {
    const { rpc, pubsub } = await listenPair(chain, host, options.port, log);
    const rpcUrl = `http://${host}:${rpc.port}`;
    const wsUrl = `ws://${host}:${pubsub.port}`;
    log.info({ rpcUrl, wsUrl, accounts: chain.store.accounts.size, transactions: chain.store.transactions.size },
      'chain node listening');
    return {
      rpcUrl,
      wsUrl,
      chain,
      close: async () => {
        await Promise.all([rpc.close(), pubsub.close()]);
        chain.close();
      },
    };
  } catch (error) {
    chain.close();
    throw error;
  }
}

/** Both ports, adjacent; with port 0, retried until the OS gives a port whose neighbour is free too. */
async function listenPair(chain: Chain, host: string, port: number, log: Logger):
  Promise<{ rpc: RpcServer; pubsub: PubsubServer }> {
  for (let attempt = 0; ; attempt++) {
    const rpc = await startRpcServer({ chain, methods: RPC_METHODS, host, port, log });
    try {
      const pubsub = await startPubsubServer({ chain, host, port: rpc.port + 1, log });
      return { rpc, pubsub };
    } catch (error) {
      await rpc.close();
      const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !inUse || attempt >= 20) throw error;
    }
  }
}
