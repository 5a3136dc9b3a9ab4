/**
 * The chain's durable state under `<dataDir>/chain/`: every committed transaction's changed accounts and its
 * status go to an append-only log, fsync'd before the node answers, so a kill -9 loses nothing that a client
 * was told about. On open, snapshot + log are folded into a new snapshot and the log starts empty.
 *   genesis.json    genesis hash and time (slot 0), written once
 *   snapshot.jsonl  one line per live account and per transaction
 *   log.jsonl       one line per commit since the snapshot
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import type { Genesis } from './clock';
import type { TransactionErrorJson } from './transaction-error';

export interface AccountState {
  lamports: number;
  owner: string;
  executable: boolean;
  rentEpoch: number;
  data: Buffer;
}

export interface TokenBalance {
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  uiTokenAmount: { amount: string; decimals: number; uiAmount: number | null; uiAmountString: string };
}

export interface InnerInstructions {
  index: number;
  instructions: { programIdIndex: number; accounts: number[]; data: string; stackHeight: number }[];
}

/** What getSignatureStatuses and getTransaction answer, kept for as long as the chain lives. */
export interface TransactionRecord {
  signature: string;
  slot: number;
  blockTime: number;
  err: TransactionErrorJson | null;
  /** The wire transaction, base64; null for airdrops, whose transaction LiteSVM builds and keeps. */
  wire: string | null;
  version: 'legacy' | 0;
  /** Static keys, then the ones loaded from lookup tables. */
  accountKeys: string[];
  loadedAddresses: { writable: string[]; readonly: string[] };
  fee: number;
  computeUnits: number;
  logs: string[];
  preBalances: number[];
  postBalances: number[];
  preTokenBalances: TokenBalance[];
  postTokenBalances: TokenBalance[];
  innerInstructions: InnerInstructions[];
  returnData: { programId: string; data: [string, 'base64'] } | null;
}

/** One commit: the accounts it changed (null = closed) and the transaction that changed them. */
export interface Commit {
  accounts: Map<string, AccountState | null>;
  transaction: TransactionRecord;
}

type StoredAccount = Omit<AccountState, 'data'> & { data: string };
type Line =
  | { account: [string, StoredAccount] }
  | { transaction: TransactionRecord }
  | { accounts: [string, StoredAccount | null][]; transaction: TransactionRecord };

const toStored = (a: AccountState): StoredAccount => ({ ...a, data: a.data.toString('base64') });
const fromStored = (a: StoredAccount): AccountState => ({ ...a, data: Buffer.from(a.data, 'base64') });

export class ChainStore {
  readonly accounts = new Map<string, AccountState>();
  readonly transactions = new Map<string, TransactionRecord>();
  private logFd: number | undefined;

  private constructor(
    readonly dir: string,
    readonly genesis: Genesis,
  ) {}

  static open(dir: string, nowMs: number = Date.now()): ChainStore {
    fs.mkdirSync(dir, { recursive: true });
    const store = new ChainStore(dir, readOrCreateGenesis(path.join(dir, 'genesis.json'), nowMs));
    store.load(path.join(dir, 'snapshot.jsonl'), false);
    store.load(path.join(dir, 'log.jsonl'), true);
    store.compact();
    store.logFd = fs.openSync(path.join(dir, 'log.jsonl'), 'a');
    return store;
  }

  /** Durable when it returns. */
  commit(commit: Commit): void {
    if (this.logFd === undefined) throw new Error('the chain store is closed');
    const accounts = [...commit.accounts].map(([k, v]): [string, StoredAccount | null] => [k, v && toStored(v)]);
    const line: Line = { accounts, transaction: commit.transaction };
    fs.writeSync(this.logFd, `${JSON.stringify(line)}\n`);
    fs.fdatasyncSync(this.logFd);
    this.apply(commit.accounts, commit.transaction);
  }

  close(): void {
    if (this.logFd !== undefined) fs.closeSync(this.logFd);
    this.logFd = undefined;
  }

  private apply(accounts: Map<string, AccountState | null>, transaction: TransactionRecord): void {
    for (const [key, state] of accounts) {
      if (state === null) this.accounts.delete(key);
      else this.accounts.set(key, state);
    }
    this.transactions.set(transaction.signature, transaction);
  }

  /** A torn last line of the log is a commit that never finished (and was never acknowledged): dropped. */
  private load(file: string, isLog: boolean): void {
    if (!fs.existsSync(file)) return;
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
    lines.forEach((text, i) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch (error) {
        if (isLog && i === lines.length - 1) return;
        throw new Error(`${file}:${i + 1} is corrupt: ${(error as Error).message}`);
      }
      if ('accounts' in line) {
        this.apply(new Map(line.accounts.map(([k, v]) => [k, v && fromStored(v)])), line.transaction);
      } else if ('account' in line) {
        this.accounts.set(line.account[0], fromStored(line.account[1]));
      } else {
        this.transactions.set(line.transaction.signature, line.transaction);
      }
    });
  }

  /** Snapshot written beside, fsync'd and renamed over the old one; only then is the log emptied. */
  private compact(): void {
    const snapshot = path.join(this.dir, 'snapshot.jsonl');
    const tmp = `${snapshot}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      const write = (line: Line) => fs.writeSync(fd, `${JSON.stringify(line)}\n`);
      for (const [key, state] of this.accounts) write({ account: [key, toStored(state)] });
      for (const transaction of this.transactions.values()) write({ transaction });
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, snapshot);
    fsyncDir(this.dir);
    fs.writeFileSync(path.join(this.dir, 'log.jsonl'), '');
    fsyncDir(this.dir);
  }
}

function readOrCreateGenesis(file: string, nowMs: number): Genesis {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Genesis;
  const genesis: Genesis = { hash: bs58.encode(randomBytes(32)), unixMs: nowMs };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(genesis));
  fs.renameSync(`${file}.tmp`, file);
  fsyncDir(path.dirname(file));
  return genesis;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
