/** Account reads: one, many, a balance, and a program's accounts with memcmp / dataSize filters. */
import bs58 from 'bs58';
import { z } from 'zod';
import { accountConfig, encodeAccount } from '../account-encoding';
import { configParam, invalidParams, param, pubkeyParam, withContext, type RpcMethod } from '../rpc-params';

const MAX_MULTIPLE_ACCOUNTS = 100;

const memcmpFilter = z.object({
  memcmp: z.object({
    offset: z.number().int().nonnegative(),
    bytes: z.string(),
    encoding: z.enum(['base58', 'base64']).optional(),
  }),
});
const dataSizeFilter = z.object({ dataSize: z.number().int().nonnegative() });
const programAccountsConfig = accountConfig.extend({
  filters: z.array(z.union([memcmpFilter, dataSizeFilter])).max(4).optional(),
  withContext: z.boolean().optional(),
});

type Filter = (data: Buffer) => boolean;

function toFilter(filter: z.output<typeof memcmpFilter> | z.output<typeof dataSizeFilter>): Filter {
  if ('dataSize' in filter) return (data) => data.length === filter.dataSize;
  const { offset, bytes, encoding } = filter.memcmp;
  let wanted: Buffer;
  try {
    wanted = encoding === 'base64' ? Buffer.from(bytes, 'base64') : Buffer.from(bs58.decode(bytes));
  } catch {
    throw invalidParams('Invalid params: memcmp bytes are not valid base58');
  }
  const end = offset + wanted.length;
  return (data) => data.length >= end && data.subarray(offset, end).equals(wanted);
}

export const accountMethods: Record<string, RpcMethod> = {
  getAccountInfo: (params, chain) => {
    const key = pubkeyParam(params, 0);
    const config = configParam(params, 1, accountConfig);
    const slot = chain.tick();
    const info = chain.account(key);
    return withContext(slot, info === null ? null : encodeAccount(chain, info, config));
  },
  getMultipleAccounts: (params, chain) => {
    const keys = param(params, 0, z.array(z.string()).max(MAX_MULTIPLE_ACCOUNTS), 'pubkeys');
    const config = configParam(params, 1, accountConfig);
    const slot = chain.tick();
    return withContext(
      slot,
      keys.map((_, i) => {
        const info = chain.account(pubkeyParam(keys, i));
        return info === null ? null : encodeAccount(chain, info, config);
      }),
    );
  },
  getBalance: (params, chain) => {
    const key = pubkeyParam(params, 0);
    const slot = chain.tick();
    return withContext(slot, chain.account(key)?.lamports ?? 0);
  },
  getProgramAccounts: (params, chain) => {
    const owner = pubkeyParam(params, 0).toBase58();
    const config = configParam(params, 1, programAccountsConfig);
    const filters = (config.filters ?? []).map(toFilter);
    const slot = chain.tick();
    const found = [];
    for (const [pubkey, state] of chain.accountsOwnedBy(owner)) {
      if (filters.every((matches) => matches(state.data))) {
        found.push({ pubkey, account: encodeAccount(chain, state, config) });
      }
    }
    return config.withContext === true ? withContext(slot, found) : found;
  },
};
