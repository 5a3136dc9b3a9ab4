/**
 * SPL Token accounts and mints as the RPC shows them: token balances in metadata, getTokenAccountBalance,
 * getTokenAccountsByOwner, and the `jsonParsed` encoding. Token-2022 accounts share the base layout; its
 * extensions are not parsed.
 */
import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState as TokenAccountState,
  MINT_SIZE,
  MintLayout,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  type RawAccount,
  type RawMint,
} from '@solana/spl-token';

const TOKEN_PROGRAMS = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()]);
/** Token-2022 tags accounts longer than the base layout with their type at this offset. */
const ACCOUNT_TYPE_OFFSET = ACCOUNT_SIZE;
const ACCOUNT_TYPE_MINT = 1;
const ACCOUNT_TYPE_ACCOUNT = 2;

export interface UiTokenAmount {
  amount: string;
  decimals: number;
  uiAmount: number | null;
  uiAmountString: string;
}

export function isTokenProgram(owner: string): boolean {
  return TOKEN_PROGRAMS.has(owner);
}

export function decodeTokenAccount(owner: string, data: Uint8Array): RawAccount | null {
  if (!isTokenProgram(owner) || data.length < ACCOUNT_SIZE) return null;
  if (data.length > ACCOUNT_SIZE && data[ACCOUNT_TYPE_OFFSET] !== ACCOUNT_TYPE_ACCOUNT) return null;
  const account = AccountLayout.decode(data.subarray(0, ACCOUNT_SIZE));
  return account.state === TokenAccountState.Uninitialized ? null : account;
}

export function decodeMint(owner: string, data: Uint8Array): RawMint | null {
  if (!isTokenProgram(owner) || data.length < MINT_SIZE) return null;
  if (data.length !== MINT_SIZE && data[ACCOUNT_TYPE_OFFSET] !== ACCOUNT_TYPE_MINT) return null;
  const mint = MintLayout.decode(data.subarray(0, MINT_SIZE));
  return mint.isInitialized ? mint : null;
}

/** As a validator writes it: "10000" for 10,000.000000, "0.5" for 500,000 of 6 decimals. */
export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const scale = 10n ** BigInt(decimals);
  const fraction = (amount % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  const uiAmountString = fraction.length > 0 ? `${amount / scale}.${fraction}` : `${amount / scale}`;
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

const STATES = ['uninitialized', 'initialized', 'frozen'];

/** The `parsed` part of a jsonParsed token account or mint, or null for anything else. */
export function parseTokenData(owner: string, data: Uint8Array, decimalsOf: (mint: string) => number | undefined) {
  const account = decodeTokenAccount(owner, data);
  if (account !== null) {
    const mint = account.mint.toBase58();
    const info: Record<string, unknown> = {
      isNative: account.isNativeOption === 1,
      mint,
      owner: account.owner.toBase58(),
      state: STATES[account.state],
      tokenAmount: uiTokenAmount(account.amount, decimalsOf(mint) ?? 0),
    };
    if (account.delegateOption === 1) info.delegate = account.delegate.toBase58();
    if (account.closeAuthorityOption === 1) info.closeAuthority = account.closeAuthority.toBase58();
    return { type: 'account', info };
  }
  const mint = decodeMint(owner, data);
  if (mint === null) return null;
  return {
    type: 'mint',
    info: {
      decimals: mint.decimals,
      freezeAuthority: mint.freezeAuthorityOption === 1 ? mint.freezeAuthority.toBase58() : null,
      isInitialized: true,
      mintAuthority: mint.mintAuthorityOption === 1 ? mint.mintAuthority.toBase58() : null,
      supply: mint.supply.toString(),
    },
  };
}
