/**
 * What happened to a signature: statuses, the full transaction, and an address's signatures. Everything
 * that ever landed is kept (and survives restarts), so a client retrying after a crash finds its answer.
 */
import { z } from 'zod';
import {
  RpcError,
  commitmentFields,
  configParam,
  param,
  pubkeyParam,
  withContext,
  type RpcMethod,
} from '../rpc-params';
import { renderTransaction } from '../transaction-json';

const MAX_SIGNATURES = 256;
const UNSUPPORTED_VERSION = -32015;

const transactionConfig = z.object({
  ...commitmentFields,
  encoding: z.enum(['json', 'jsonParsed', 'base64', 'base58']).optional(),
  maxSupportedTransactionVersion: z.number().int().nonnegative().optional(),
});
const signaturesConfig = z.object({
  ...commitmentFields,
  limit: z.number().int().min(1).max(1000).optional(),
  before: z.string().optional(),
  until: z.string().optional(),
});

export const historyMethods: Record<string, RpcMethod> = {
  getSignatureStatuses: (params, chain) => {
    const signatures = param(params, 0, z.array(z.string()).max(MAX_SIGNATURES), 'signatures');
    configParam(params, 1, z.object({ searchTransactionHistory: z.boolean().optional() }));
    const slot = chain.tick();
    return withContext(
      slot,
      signatures.map((signature) => {
        const record = chain.transaction(signature);
        if (record === undefined) return null;
        const status = record.err === null ? { Ok: null } : { Err: record.err };
        // One node, no forks: a landed transaction is final at once.
        return { slot: record.slot, confirmations: null, err: record.err, status, confirmationStatus: 'finalized' };
      }),
    );
  },
  getTransaction: (params, chain) => {
    const signature = param(params, 0, z.string(), 'signature');
    const config = configParam(params, 1, transactionConfig);
    const record = chain.transaction(signature);
    if (record === undefined || record.wire === null) return null;
    if (record.version === 0 && config.maxSupportedTransactionVersion === undefined) {
      throw new RpcError(UNSUPPORTED_VERSION,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the ' +
        'following configuration parameter: "maxSupportedTransactionVersion": 0');
    }
    return renderTransaction(record, config.encoding ?? 'json', config.maxSupportedTransactionVersion !== undefined);
  },
  getSignaturesForAddress: (params, chain) => {
    const address = pubkeyParam(params, 0).toBase58();
    const config = configParam(params, 1, signaturesConfig);
    const limit = config.limit ?? 1000;
    const newestFirst = [...chain.store.transactions.values()].reverse();
    const start = config.before === undefined ? 0 : newestFirst.findIndex((r) => r.signature === config.before) + 1;
    const found = [];
    for (const record of newestFirst.slice(start)) {
      if (record.signature === config.until || found.length >= limit) break;
      if (!record.accountKeys.includes(address)) continue;
      found.push({ signature: record.signature, slot: record.slot, err: record.err, memo: null,
        blockTime: record.blockTime, confirmationStatus: 'finalized' });
    }
    return found;
  },
};
