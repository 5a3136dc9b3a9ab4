/**
 * Accounts as the RPC returns them: `base64` (what web3.js asks for), `base58` for small accounts, and
 * `jsonParsed` for SPL Token accounts and mints (anything else falls back to base64, as a validator does).
 * `dataSlice` cuts the raw encodings.
 */
import bs58 from 'bs58';
import { PublicKey } from '@solana/web3.js';
import { z } from 'zod';
import type { Chain } from './chain';
import { commitmentFields, RpcError, RPC_ERRORS, invalidParams } from './rpc-params';
import { decodeMint, isTokenProgram, parseTokenData } from './token-accounts';
import { TOKEN_2022_PROGRAM_ID } from '@solana/spl-token';

export const accountConfig = z.object({
  ...commitmentFields,
  encoding: z.enum(['base58', 'base64', 'base64+zstd', 'jsonParsed', 'binary']).optional(),
  dataSlice: z.object({ offset: z.number().int().nonnegative(), length: z.number().int().nonnegative() }).optional(),
});
export type AccountConfig = z.output<typeof accountConfig>;

export interface AccountLike {
  lamports: number;
  owner: PublicKey | string;
  executable: boolean;
  rentEpoch?: number;
  data: Uint8Array;
}

export interface RpcAccount {
  data: [string, string] | string | { program: string; parsed: unknown; space: number };
  executable: boolean;
  lamports: number;
  owner: string;
  rentEpoch: number;
  space: number;
}

const BASE58_LIMIT = 128;

export function encodeAccount(chain: Chain, account: AccountLike, config: AccountConfig): RpcAccount {
  const owner = typeof account.owner === 'string' ? account.owner : account.owner.toBase58();
  const head = { executable: account.executable, lamports: account.lamports, owner,
    rentEpoch: account.rentEpoch ?? 0, space: account.data.length };
  const encoding = config.encoding ?? 'base64';
  if (encoding === 'jsonParsed' && isTokenProgram(owner)) {
    const parsed = parseTokenData(owner, account.data, (mint) => mintDecimals(chain, mint));
    if (parsed !== null) {
      const program = owner === TOKEN_2022_PROGRAM_ID.toBase58() ? 'spl-token-2022' : 'spl-token';
      return { ...head, data: { program, parsed, space: account.data.length } };
    }
  }
  if (encoding === 'base64+zstd') throw invalidParams('Invalid params: base64+zstd is not supported by this node');
  const slice = config.dataSlice;
  const data = Buffer.from(
    slice === undefined ? account.data : account.data.subarray(slice.offset, slice.offset + slice.length),
  );
  if (encoding === 'base58' || encoding === 'binary') {
    if (data.length > BASE58_LIMIT) {
      throw new RpcError(RPC_ERRORS.invalidRequest,
        `Encoded binary (base 58) data should be less than ${BASE58_LIMIT} bytes, please use Base64 encoding.`);
    }
    return { ...head, data: encoding === 'binary' ? bs58.encode(data) : [bs58.encode(data), 'base58'] };
  }
  return { ...head, data: [data.toString('base64'), 'base64'] };
}

export function mintDecimals(chain: Chain, mint: string): number | undefined {
  const info = chain.account(new PublicKey(mint));
  return info === null ? undefined : decodeMint(info.owner.toBase58(), info.data)?.decimals;
}
