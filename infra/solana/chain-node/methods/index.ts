/** Every HTTP JSON-RPC method the node answers, by name. */
import type { RpcMethod } from '../rpc-params';
import { accountMethods } from './accounts';
import { clusterMethods } from './cluster';
import { historyMethods } from './history';
import { tokenMethods } from './tokens';
import { transactionMethods } from './transactions';

export const RPC_METHODS: ReadonlyMap<string, RpcMethod> = new Map(
  Object.entries({ ...clusterMethods, ...accountMethods, ...tokenMethods, ...transactionMethods, ...historyMethods }),
);
