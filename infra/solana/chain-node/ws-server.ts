/**
 * The PubSub face on the RPC port + 1, where web3.js looks for it. `sendAndConfirmTransaction` (and so
 * Anchor's `provider.sendAndConfirm`) confirms through `signatureSubscribe` and never polls statuses, so a
 * node without this face leaves every confirmation waiting for its blockhash to expire.
 * Subscriptions: signature (one notification, at once if already landed, then gone), account, logs.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { z } from 'zod';
import { accountConfig, encodeAccount, type AccountConfig } from './account-encoding';
import type { Chain } from './chain';
import { handleJsonRpc, methodNotFound, type Dispatch } from './json-rpc';
import { configParam, param, pubkeyParam } from './rpc-params';
import type { TransactionRecord } from './store';

type Subscription =
  | { kind: 'signature'; socket: WebSocket; signature: string }
  | { kind: 'account'; socket: WebSocket; key: string; config: AccountConfig }
  | { kind: 'logs'; socket: WebSocket; mentions: string | null };

const SYSTEM_PROGRAM = '11111111111111111111111111111111';
const logsFilter = z.union([z.enum(['all', 'allWithVotes']), z.object({ mentions: z.array(z.string()).length(1) })]);

export interface PubsubServer {
  port: number;
  close(): Promise<void>;
}

export async function startPubsubServer(opts: { chain: Chain; host: string; port: number; log: Logger }):
  Promise<PubsubServer> {
  const { chain, log } = opts;
  const subscriptions = new Map<number, Subscription>();
  let nextId = 0;

  const notify = (id: number, method: string, result: unknown) => {
    const sub = subscriptions.get(id);
    if (sub === undefined || sub.socket.readyState !== WebSocket.OPEN) return;
    sub.socket.send(JSON.stringify({ jsonrpc: '2.0', method, params: { result, subscription: id } }));
  };
  const context = (slot: number) => ({ slot });

  const accountValue = (sub: Extract<Subscription, { kind: 'account' }>) => {
    const info = chain.account(pubkeyParam([sub.key], 0));
    // A closed account is announced as an empty system account, as a validator does.
    const account = info ?? { lamports: 0, owner: SYSTEM_PROGRAM, executable: false, data: new Uint8Array() };
    return encodeAccount(chain, account, sub.config);
  };

  const onCommit = (record: TransactionRecord, changed: string[]) => {
    const touched = new Set(changed);
    for (const [id, sub] of subscriptions) {
      if (sub.kind === 'signature' && sub.signature === record.signature) {
        notify(id, 'signatureNotification', { context: context(record.slot), value: { err: record.err } });
        subscriptions.delete(id);
      } else if (sub.kind === 'account' && touched.has(sub.key)) {
        notify(id, 'accountNotification', { context: context(record.slot), value: accountValue(sub) });
      } else if (sub.kind === 'logs' && (sub.mentions === null || record.accountKeys.includes(sub.mentions))) {
        const value = { signature: record.signature, err: record.err, logs: record.logs };
        notify(id, 'logsNotification', { context: context(record.slot), value });
      }
    }
  };
  const stopListening = chain.onCommit(onCommit);

  const subscribe = (sub: Subscription): number => {
    const id = nextId++;
    subscriptions.set(id, sub);
    return id;
  };
  const unsubscribe = (socket: WebSocket, kind: Subscription['kind'], params: unknown[]): boolean => {
    const id = param(params, 0, z.number().int(), 'subscription id');
    const sub = subscriptions.get(id);
    if (sub === undefined || sub.socket !== socket || sub.kind !== kind) return false;
    return subscriptions.delete(id);
  };

  const dispatchFor = (socket: WebSocket): Dispatch => (method, params) => {
    switch (method) {
      case 'signatureSubscribe': {
        const signature = param(params, 0, z.string(), 'signature');
        const id = subscribe({ kind: 'signature', socket, signature });
        const landed = chain.transaction(signature);
        if (landed !== undefined) {
          // After the subscription's own answer, which the caller sends when this returns.
          setImmediate(() => {
            notify(id, 'signatureNotification', { context: context(chain.tick()), value: { err: landed.err } });
            subscriptions.delete(id);
          });
        }
        return id;
      }
      case 'accountSubscribe': {
        const key = pubkeyParam(params, 0).toBase58();
        return subscribe({ kind: 'account', socket, key, config: configParam(params, 1, accountConfig) });
      }
      case 'logsSubscribe': {
        const filter = param(params, 0, logsFilter, 'filter');
        const mentions = typeof filter === 'string' ? null : pubkeyParam(filter.mentions, 0).toBase58();
        return subscribe({ kind: 'logs', socket, mentions });
      }
      case 'signatureUnsubscribe':
        return unsubscribe(socket, 'signature', params);
      case 'accountUnsubscribe':
        return unsubscribe(socket, 'account', params);
      case 'logsUnsubscribe':
        return unsubscribe(socket, 'logs', params);
      default:
        throw methodNotFound(method);
    }
  };

  const server = new WebSocket.Server({ host: opts.host, port: opts.port });
  server.on('connection', (socket) => {
    const dispatch = dispatchFor(socket);
    socket.on('message', (data) => {
      const response = handleJsonRpc(data.toString(), dispatch, log);
      if (response !== undefined && socket.readyState === WebSocket.OPEN) socket.send(response);
    });
    socket.on('close', () => {
      for (const [id, sub] of subscriptions) if (sub.socket === socket) subscriptions.delete(id);
    });
    socket.on('error', (error) => log.debug({ err: error }, 'pubsub socket failed'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      stopListening();
      // A normal closure (1000) tells web3.js not to reconnect; a dropped socket makes it retry forever.
      const closed = [...server.clients].map((client) => new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.close(1000, 'chain node stopping');
      }));
      await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
