/**
 * A stored transaction as getTransaction returns it, in the `json`, `jsonParsed` (instructions left
 * partially decoded: program, accounts, data) and binary encodings.
 */
import bs58 from 'bs58';
import { VersionedTransaction } from '@solana/web3.js';
import type { TransactionRecord } from './store';

export type TransactionEncoding = 'json' | 'jsonParsed' | 'base64' | 'base58';

function renderMessage(tx: VersionedTransaction, record: TransactionRecord, parsed: boolean) {
  const message = tx.message;
  const keys = record.accountKeys;
  const staticCount = message.staticAccountKeys.length;
  const lookups = message.addressTableLookups.map((l) => ({
    accountKey: l.accountKey.toBase58(),
    writableIndexes: l.writableIndexes,
    readonlyIndexes: l.readonlyIndexes,
  }));
  const base = {
    recentBlockhash: message.recentBlockhash,
    ...(record.version === 0 ? { addressTableLookups: lookups } : {}),
  };
  if (!parsed) {
    return {
      ...base,
      accountKeys: keys.slice(0, staticCount),
      header: message.header,
      instructions: message.compiledInstructions.map((ix) => ({
        programIdIndex: ix.programIdIndex,
        accounts: ix.accountKeyIndexes,
        data: bs58.encode(ix.data),
        stackHeight: null,
      })),
    };
  }
  return {
    ...base,
    accountKeys: keys.map((pubkey, i) => ({
      pubkey,
      signer: message.isAccountSigner(i),
      writable: message.isAccountWritable(i),
      source: i < staticCount ? 'transaction' : 'lookupTable',
    })),
    instructions: message.compiledInstructions.map((ix) => ({
      programId: keys[ix.programIdIndex],
      accounts: ix.accountKeyIndexes.map((i) => keys[i]),
      data: bs58.encode(ix.data),
      stackHeight: null,
    })),
  };
}

function renderMeta(record: TransactionRecord, parsed: boolean) {
  const keys = record.accountKeys;
  const inner = record.innerInstructions.map(({ index, instructions }) => ({
    index,
    instructions: parsed
      ? instructions.map((ix) => ({ programId: keys[ix.programIdIndex], accounts: ix.accounts.map((i) => keys[i]),
        data: ix.data, stackHeight: ix.stackHeight }))
      : instructions,
  }));
  return {
    err: record.err,
    status: record.err === null ? { Ok: null } : { Err: record.err },
    fee: record.fee,
    preBalances: record.preBalances,
    postBalances: record.postBalances,
    innerInstructions: inner,
    logMessages: record.logs,
    preTokenBalances: record.preTokenBalances,
    postTokenBalances: record.postTokenBalances,
    rewards: [],
    loadedAddresses: record.loadedAddresses,
    computeUnitsConsumed: record.computeUnits,
    ...(record.returnData === null ? {} : { returnData: record.returnData }),
  };
}

/** `withVersion`: the client sent maxSupportedTransactionVersion, so the answer names the version. */
export function renderTransaction(record: TransactionRecord, encoding: TransactionEncoding, withVersion: boolean) {
  const wire = Buffer.from(record.wire!, 'base64');
  const parsed = encoding === 'jsonParsed';
  let transaction: unknown;
  if (encoding === 'base64') transaction = [record.wire, 'base64'];
  else if (encoding === 'base58') transaction = [bs58.encode(wire), 'base58'];
  else {
    const tx = VersionedTransaction.deserialize(wire);
    transaction = { signatures: tx.signatures.map((s) => bs58.encode(s)), message: renderMessage(tx, record, parsed) };
  }
  return {
    slot: record.slot,
    blockTime: record.blockTime,
    transaction,
    meta: renderMeta(record, parsed),
    ...(withVersion ? { version: record.version } : {}),
  };
}
