/**
 * The HTTP face: JSON-RPC 2.0 on POST (any path, as a validator accepts), `GET /health` for launchers. Bodies
 * over 1 MiB are refused (a transaction is at most 1,232 bytes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Chain } from './chain';
import { handleJsonRpc, methodNotFound } from './json-rpc';
import type { RpcMethod } from './rpc-params';

const MAX_BODY_BYTES = 1024 * 1024;

export interface RpcServer {
  port: number;
  close(): Promise<void>;
}

export async function startRpcServer(opts: {
  chain: Chain;
  methods: ReadonlyMap<string, RpcMethod>;
  host: string;
  port: number;
  log: Logger;
}): Promise<RpcServer> {
  const { chain, methods, log } = opts;
  const dispatch = (method: string, params: unknown[]) => {
    const handler = methods.get(method);
    if (handler === undefined) throw methodNotFound(method);
    return handler(params, chain);
  };

  const server = http.createServer((req, res) => {
    // Browser clients (an explorer, a customer's page) may call from any origin, as on a public RPC.
    res.setHeader('access-control-allow-origin', '*');
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'POST, GET, OPTIONS',
        'access-control-allow-headers': 'content-type, solana-client' });
      return res.end();
    }
    if (req.method === 'GET' && req.url === '/health') return reply(200, 'ok', 'text/plain');
    if (req.method !== 'POST') {
      return reply(405, 'Used HTTP Method is not allowed. POST or OPTIONS is required', 'text/plain');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, 'request body too large', 'text/plain');
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      const response = handleJsonRpc(Buffer.concat(chunks).toString('utf8'), dispatch, log);
      if (response === undefined) {
        res.writeHead(204);
        res.end();
      } else reply(200, response);
    });
    req.on('error', (error) => log.debug({ err: error }, 'rpc request stream failed'));
  });
  // web3.js keeps idle sockets for 19 s and expects the server to keep them longer.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
