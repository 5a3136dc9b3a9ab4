/** SPL Token reads: a token account's balance, a mint's supply, an owner's token accounts. */
import { z } from 'zod';
import { accountConfig, encodeAccount, mintDecimals } from '../account-encoding';
import { configParam, invalidParams, param, pubkeyParam, withContext, type RpcMethod } from '../rpc-params';
import { decodeMint, decodeTokenAccount, isTokenProgram, uiTokenAmount } from '../token-accounts';

const ownerFilter = z.union([z.object({ mint: z.string() }), z.object({ programId: z.string() })]);

export const tokenMethods: Record<string, RpcMethod> = {
  getTokenAccountBalance: (params, chain) => {
    const key = pubkeyParam(params, 0);
    const slot = chain.tick();
    const info = chain.account(key);
    const account = info === null ? null : decodeTokenAccount(info.owner.toBase58(), info.data);
    if (account === null) throw invalidParams('Invalid param: not a Token account');
    const decimals = mintDecimals(chain, account.mint.toBase58());
    if (decimals === undefined) throw invalidParams('Invalid param: mint could not be unpacked');
    return withContext(slot, uiTokenAmount(account.amount, decimals));
  },
  getTokenSupply: (params, chain) => {
    const key = pubkeyParam(params, 0);
    const slot = chain.tick();
    const info = chain.account(key);
    const mint = info === null ? null : decodeMint(info.owner.toBase58(), info.data);
    if (mint === null) throw invalidParams('Invalid param: not a Token mint');
    return withContext(slot, uiTokenAmount(mint.supply, mint.decimals));
  },
  getTokenAccountsByOwner: (params, chain) => {
    const owner = pubkeyParam(params, 0).toBase58();
    const filter = param(params, 1, ownerFilter, 'filter');
    const config = configParam(params, 2, accountConfig);
    const mint = 'mint' in filter ? pubkeyParam([filter.mint], 0).toBase58() : undefined;
    const program = 'programId' in filter ? pubkeyParam([filter.programId], 0).toBase58() : undefined;
    if (program !== undefined && !isTokenProgram(program)) {
      throw invalidParams('Invalid param: unrecognized Token program id');
    }
    const slot = chain.tick();
    const programs = program !== undefined ? [program] : [...new Set(tokenProgramsOfMint(chain, mint!))];
    const found = [];
    for (const programId of programs) {
      for (const [pubkey, state] of chain.accountsOwnedBy(programId)) {
        const account = decodeTokenAccount(programId, state.data);
        if (account === null || account.owner.toBase58() !== owner) continue;
        if (mint !== undefined && account.mint.toBase58() !== mint) continue;
        found.push({ pubkey, account: encodeAccount(chain, state, config) });
      }
    }
    return withContext(slot, found);
  },
};

function tokenProgramsOfMint(chain: Parameters<RpcMethod>[1], mint: string): string[] {
  const info = chain.account(pubkeyParam([mint], 0));
  if (info === null || decodeMint(info.owner.toBase58(), info.data) === null) {
    throw invalidParams('Invalid param: could not find mint');
  }
  return [info.owner.toBase58()];
}
