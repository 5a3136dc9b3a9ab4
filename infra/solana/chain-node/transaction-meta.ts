/**
 * The parts of a transaction's metadata that LiteSVM does not hand over in RPC form: the full account list
 * (lookup tables resolved), balances before and after, token balances, inner instructions and return data.
 */
import bs58 from 'bs58';
import {
  AddressLookupTableAccount,
  PublicKey,
  type AccountInfo,
  type VersionedMessage,
} from '@solana/web3.js';
import type { LiteSVM, TransactionMetadata } from 'litesvm';
import type { InnerInstructions, TokenBalance, TransactionRecord } from './store';
import { decodeMint, decodeTokenAccount, uiTokenAmount } from './token-accounts';

export type AccountSnapshot = AccountInfo<Uint8Array> | null;

export interface ResolvedKeys {
  keys: PublicKey[];
  writable: boolean[];
  loaded: { writable: string[]; readonly: string[] };
}

/** Every account a message names; lookup tables are read from the chain (a missing one resolves to none). */
export function resolveAccountKeys(svm: LiteSVM, message: VersionedMessage): ResolvedKeys {
  const tables: AddressLookupTableAccount[] = [];
  for (const lookup of message.addressTableLookups) {
    const info = svm.getAccount(lookup.accountKey);
    if (info === null) continue;
    const state = AddressLookupTableAccount.deserialize(info.data);
    tables.push(new AddressLookupTableAccount({ key: lookup.accountKey, state }));
  }
  let accountKeys;
  try {
    accountKeys = message.getAccountKeys({ addressLookupTableAccounts: tables });
  } catch {
    accountKeys = message.getAccountKeys({ accountKeysFromLookups: { writable: [], readonly: [] } });
  }
  const keys = [...accountKeys.staticAccountKeys, ...(accountKeys.accountKeysFromLookups?.writable ?? []),
    ...(accountKeys.accountKeysFromLookups?.readonly ?? [])];
  const loaded = {
    writable: (accountKeys.accountKeysFromLookups?.writable ?? []).map((k) => k.toBase58()),
    readonly: (accountKeys.accountKeysFromLookups?.readonly ?? []).map((k) => k.toBase58()),
  };
  return { keys, writable: keys.map((_, i) => message.isAccountWritable(i)), loaded };
}

export function snapshotAccounts(svm: LiteSVM, keys: PublicKey[]): AccountSnapshot[] {
  return keys.map((key) => svm.getAccount(key));
}

export function sameAccount(a: AccountSnapshot, b: AccountSnapshot): boolean {
  if (a === null || b === null) return a === b;
  return a.lamports === b.lamports && a.executable === b.executable && a.owner.equals(b.owner) &&
    Buffer.from(a.data).equals(Buffer.from(b.data));
}

export function tokenBalances(svm: LiteSVM, accounts: AccountSnapshot[]): TokenBalance[] {
  const balances: TokenBalance[] = [];
  accounts.forEach((info, accountIndex) => {
    if (info === null) return;
    const programId = info.owner.toBase58();
    const account = decodeTokenAccount(programId, info.data);
    if (account === null) return;
    const mintInfo = svm.getAccount(account.mint);
    const decimals = mintInfo === null ? 0 : (decodeMint(mintInfo.owner.toBase58(), mintInfo.data)?.decimals ?? 0);
    balances.push({
      accountIndex,
      mint: account.mint.toBase58(),
      owner: account.owner.toBase58(),
      programId,
      uiTokenAmount: uiTokenAmount(account.amount, decimals),
    });
  });
  return balances;
}

export function innerInstructions(meta: TransactionMetadata): InnerInstructions[] {
  return meta
    .innerInstructions()
    .map((list, index) => ({
      index,
      instructions: list.map((inner) => {
        const ix = inner.instruction();
        return {
          programIdIndex: ix.programIdIndex(),
          accounts: Array.from(ix.accounts()),
          data: bs58.encode(ix.data()),
          stackHeight: inner.stackHeight(),
        };
      }),
    }))
    .filter((entry) => entry.instructions.length > 0);
}

export function returnData(meta: TransactionMetadata): TransactionRecord['returnData'] {
  const data = meta.returnData();
  const bytes = data.data();
  if (bytes.length === 0) return null;
  const programId = new PublicKey(data.programId()).toBase58();
  return { programId, data: [Buffer.from(bytes).toString('base64'), 'base64'] };
}

/** Base fee only: 5,000 lamports a signature (LiteSVM's fee); priority fees are not modelled. */
export const LAMPORTS_PER_SIGNATURE = 5_000;
export function baseFee(message: VersionedMessage): number {
  return message.header.numRequiredSignatures * LAMPORTS_PER_SIGNATURE;
}
