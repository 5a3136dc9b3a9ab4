/**
 * The local chain node as the tests drive it: in process (startChainNode) or as its own process (the launcher's
 * way, which a kill -9 can take down), plus raw JSON-RPC calls for what `Connection` hides (error codes).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTiedToParent } from '../../../scripts/launcher/tied-spawn';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transaction, type Connection, type Keypair, type TransactionInstruction } from '@solana/web3.js';

const ROOT = path.resolve(__dirname, '../../..');

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chain-node-'));
}

/** A port whose neighbour (the PubSub port) is free too. */
export async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  for (;;) {
    const first = await listen(0);
    const port = (first.address() as net.AddressInfo).port;
    const second = await listen(port + 1).catch(() => undefined);
    await new Promise((resolve) => first.close(resolve));
    if (second !== undefined) {
      await new Promise((resolve) => second.close(resolve));
      if (port < 65534) return port;
    }
  }
}

export interface RpcResponse {
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: { err?: unknown; logs?: string[] } };
}

/** One POST with a body as given (a string is sent as is, to test malformed requests). */
export async function rawRpc(rpcUrl: string, body: unknown): Promise<RpcResponse | RpcResponse[]> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return (await response.json()) as RpcResponse | RpcResponse[];
}

export async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<RpcResponse> {
  return (await rawRpc(rpcUrl, { jsonrpc: '2.0', id: 1, method, params })) as RpcResponse;
}

/** A signed transaction's wire bytes, to send (and re-send) exactly the same transaction. */
export async function signedWire(connection: Connection, instructions: TransactionInstruction[], signers: Keypair[]) {
  const latest = await connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: signers[0]!.publicKey, ...latest }).add(...instructions);
  tx.sign(...signers);
  return { wire: tx.serialize(), ...latest };
}

export interface ChainNodeProcess {
  rpcUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
}

/** `node --import tsx infra/solana/chain-node/main.ts`, answered /health when this resolves. */
export async function spawnChainNode(dataDir: string, port: number): Promise<ChainNodeProcess> {
  const args = ['--import', 'tsx', 'infra/solana/chain-node/main.ts', '--port', String(port), '--data-dir', dataDir];
  const child = spawnTiedToParent(process.execPath, args, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`chain node exited:\n${output}`);
    const healthy = await fetch(`${rpcUrl}/health`).then((r) => r.ok, () => false);
    if (healthy) return { rpcUrl, child, exited, output: () => output };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`chain node did not answer /health within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
