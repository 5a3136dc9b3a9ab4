/**
 * The local chain node as its own process (so the launcher can restart it):
 *   tsx infra/solana/chain-node/main.ts --port 8899 --data-dir data [--bootstrap]
 * With --bootstrap it also sets up the demo market (idempotent) and writes `<data-dir>/solana.json` before it
 * logs "chain node ready". SIGTERM / SIGINT close both servers and the store, then exit 0.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { bootstrapSolana } from '../bootstrap';
import { DEFAULT_PROGRAM_PATH, startChainNode } from './chain-node';

export { startChainNode, type ChainNode, type ChainNodeOptions } from './chain-node';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65534) throw new InvalidArgumentError('a port from 0 to 65534');
  return n;
};

async function main(): Promise<void> {
  const options = new Command('chain-node')
    .description('LiteSVM with lease_escrow behind Solana JSON-RPC (HTTP) and PubSub (WebSocket on port + 1)')
    .option('--port <port>', 'JSON-RPC port; PubSub listens on port + 1', port, 8899)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'state lives in <dir>/chain, keys in <dir>/keys', 'data')
    .option('--program <path>', 'the built lease_escrow .so', DEFAULT_PROGRAM_PATH)
    .option('--bootstrap', 'set up mint, treasury, config and demo customers; write <data-dir>/solana.json', false)
    .parse()
    .opts<{ port: number; host: string; dataDir: string; program: string; bootstrap: boolean }>();

  const log = pino({ name: 'chain-node', level: process.env.LOG_LEVEL ?? 'info' });
  const node = await startChainNode({
    port: options.port,
    host: options.host,
    dataDir: path.resolve(options.dataDir),
    programPath: path.resolve(options.program),
    log,
    onFatal: (error) => {
      // LiteSVM is now ahead of the disk: only a restart from the disk is consistent.
      log.fatal({ err: error }, 'chain state could not be persisted; exiting');
      process.exit(70);
    },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'chain node stopping');
    node.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'chain node did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  if (options.bootstrap) {
    const solana = await bootstrapSolana({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl, dataDir: options.dataDir });
    log.info({ mint: solana.mint, treasury: solana.treasury, customers: solana.customers.length }, 'bootstrapped');
  }
  log.info({ rpcUrl: node.rpcUrl, wsUrl: node.wsUrl }, 'chain node ready');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    pino({ name: 'chain-node' }).fatal({ err: error }, 'chain node failed to start');
    process.exit(1);
  });
}
