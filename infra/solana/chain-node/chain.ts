/**
 * LiteSVM as a chain: transactions run at the wall-clock slot, only landed ones (fee charged) are kept, and
 * every landed transaction's changed accounts and status are made durable before anyone hears of it.
 * On open, the accounts of the store are written back into a fresh LiteSVM and the programs deployed again, under
 * the upgradeable loader.
 * Node runs one request at a time and LiteSVM is synchronous, so a commit is never interleaved with another.
 */
import fs from 'node:fs';
import bs58 from 'bs58';
import { PublicKey, type VersionedTransaction } from '@solana/web3.js';
import { FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm';
import { WallClock } from './clock';
import { ChainStore, type AccountState, type TransactionRecord } from './store';
import {
  baseFee,
  innerInstructions,
  resolveAccountKeys,
  returnData,
  sameAccount,
  snapshotAccounts,
  tokenBalances,
  type AccountSnapshot,
} from './transaction-meta';
import { transactionErrorJson, type TransactionErrorJson } from './transaction-error';
import { clearX87State, loadX87Guard } from './x87-guard';
import { programDataAddress } from '../escrow-client';
import { deployUpgradeable, upgradeAuthorityOf } from './upgradeable-program';

export interface ChainProgram {
  programId: PublicKey;
  /** The built `.so`, deployed again at every open (a rebuilt program is an upgrade). */
  path: string;
  /** Of a first deployment; later opens keep the authority the chain holds (see `deploy`). */
  upgradeAuthority: PublicKey | null;
}

export interface ChainOptions {
  /** `<dataDir>/chain`. */
  dir: string;
  programs: ChainProgram[];
  nowMs?: () => number;
  /** A commit that could not be made durable leaves LiteSVM ahead of the disk: the host must stop. */
  onFatal?: (error: Error) => void;
}

/** `record` is null when the transaction was dropped without landing (no fee charged, nothing kept). */
export interface ExecuteOutcome {
  record: TransactionRecord | null;
  err: TransactionErrorJson | null;
  logs: string[];
}

export interface SimulationOutcome {
  err: TransactionErrorJson | null;
  logs: string[];
  unitsConsumed: number;
  returnData: TransactionRecord['returnData'];
  innerInstructions: TransactionRecord['innerInstructions'];
  accounts?: AccountSnapshot[];
}

type CommitListener = (record: TransactionRecord, changed: string[]) => void;
const U64_MAX = 18446744073709551615n;

export class Chain {
  readonly svm = new LiteSVM().withBlockhashCheck(false).withTransactionHistory(0n);
  readonly clock: WallClock;
  private readonly listeners = new Set<CommitListener>();

  private constructor(
    readonly store: ChainStore,
    private readonly options: ChainOptions,
  ) {
    this.clock = new WallClock(store.genesis, options.nowMs);
    for (const [key, state] of store.accounts) this.svm.setAccount(new PublicKey(key), toAccountInfo(state));
    for (const program of options.programs) this.deploy(program);
    this.tick();
  }

  /**
   * The deployment is not in the store unless a loader transaction changed it (a set-upgrade-authority): then its
   * upgrade authority stays the chain's, and an immutable program keeps the code it had; otherwise the authority is
   * the given one, the same at every open as long as its key file is.
   */
  private deploy(program: ChainProgram): void {
    const stored = this.store.accounts.get(programDataAddress(program.programId).toBase58());
    const recorded = stored === undefined ? undefined : upgradeAuthorityOf(stored.data);
    const elf = fs.readFileSync(program.path);
    if (recorded === null) {
      deployUpgradeable(this.svm, { programId: program.programId, elf, upgradeAuthority: null }, stored!.data);
    } else {
      deployUpgradeable(this.svm, { programId: program.programId, elf,
        upgradeAuthority: recorded ?? program.upgradeAuthority });
    }
  }

  static open(options: ChainOptions): Chain {
    loadX87Guard();
    return new Chain(ChainStore.open(options.dir, (options.nowMs ?? Date.now)()), options);
  }

  /** Brings LiteSVM's Clock sysvar to wall time; returns the slot. */
  tick(): number {
    return this.clock.applyTo(this.svm);
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** null for an account that does not exist (or was closed). */
  account(key: PublicKey): AccountSnapshot {
    const info = this.svm.getAccount(key);
    return info === null || info.lamports === 0 ? null : info;
  }

  /** Accounts of one owner, for getProgramAccounts: every account a transaction ever wrote is in the store. */
  *accountsOwnedBy(owner: string): Generator<[string, AccountState]> {
    for (const entry of this.store.accounts) if (entry[1].owner === owner) yield entry;
  }

  transaction(signature: string): TransactionRecord | undefined {
    return this.store.transactions.get(signature);
  }

  simulate(tx: VersionedTransaction, opts: { sigVerify: boolean; replaceRecentBlockhash: boolean;
    accounts?: PublicKey[] }): SimulationOutcome {
    this.tick();
    const refused = this.precheck(tx, !opts.replaceRecentBlockhash);
    if (refused !== null) return { err: refused, logs: [], unitsConsumed: 0, returnData: null, innerInstructions: [] };
    this.svm.withSigverify(opts.sigVerify);
    let result: ReturnType<LiteSVM['simulateTransaction']>;
    try {
      result = this.svm.simulateTransaction(tx);
    } finally {
      clearX87State();
      this.svm.withSigverify(true);
    }
    const meta = result.meta();
    const outcome: SimulationOutcome = {
      err: result instanceof FailedTransactionMetadata ? transactionErrorJson(result.err()) : null,
      logs: meta.logs(),
      unitsConsumed: Number(meta.computeUnitsConsumed()),
      returnData: returnData(meta),
      innerInstructions: innerInstructions(meta),
    };
    if (opts.accounts !== undefined) {
      const written = result instanceof FailedTransactionMetadata ? [] : result.postAccounts();
      const post = new Map(written.map(([k, a]) => [k.toBase58(), a]));
      outcome.accounts = opts.accounts.map((key) => {
        const a = post.get(key.toBase58());
        if (a === undefined) return this.account(key);
        const info = { lamports: Number(a.lamports()), owner: new PublicKey(a.owner()), executable: a.executable(),
          rentEpoch: Number(a.rentEpoch()), data: a.data() };
        return info.lamports === 0 ? null : info;
      });
    }
    return outcome;
  }

  execute(tx: VersionedTransaction): ExecuteOutcome {
    const slot = this.tick();
    const refused = this.precheck(tx, true);
    if (refused !== null) return { record: null, err: refused, logs: [] };
    const { keys, loaded } = resolveAccountKeys(this.svm, tx.message);
    const pre = snapshotAccounts(this.svm, keys);
    const result = this.svm.sendTransaction(tx);
    clearX87State();
    const post = snapshotAccounts(this.svm, keys);
    const failed = result instanceof FailedTransactionMetadata;
    const meta: TransactionMetadata = failed ? result.meta() : result;
    const err = failed ? transactionErrorJson(result.err()) : null;
    // A transaction that landed paid its fee; one that did not never touched the fee payer.
    if (failed && sameAccount(pre[0] ?? null, post[0] ?? null)) return { record: null, err, logs: meta.logs() };
    const record: TransactionRecord = {
      signature: bs58.encode(tx.signatures[0]!),
      slot,
      blockTime: this.clock.blockTime(slot),
      err,
      wire: Buffer.from(tx.serialize()).toString('base64'),
      version: tx.version,
      accountKeys: keys.map((k) => k.toBase58()),
      loadedAddresses: loaded,
      fee: baseFee(tx.message),
      computeUnits: Number(meta.computeUnitsConsumed()),
      logs: meta.logs(),
      preBalances: pre.map((a) => a?.lamports ?? 0),
      postBalances: post.map((a) => a?.lamports ?? 0),
      preTokenBalances: tokenBalances(this.svm, pre),
      postTokenBalances: tokenBalances(this.svm, post),
      innerInstructions: innerInstructions(meta),
      returnData: returnData(meta),
    };
    const changed = new Map<string, AccountState | null>();
    keys.forEach((key, i) => {
      if (!sameAccount(pre[i] ?? null, post[i] ?? null)) changed.set(key.toBase58(), toAccountState(post[i] ?? null));
    });
    this.commit(changed, record);
    return { record, err, logs: record.logs };
  }

  airdrop(to: PublicKey, lamports: bigint): ExecuteOutcome {
    const slot = this.tick();
    // LiteSVM signs airdrops with its own latest blockhash: a new one keeps two equal airdrops distinct.
    this.svm.expireBlockhash();
    const result = this.svm.airdrop(to, lamports);
    clearX87State();
    if (result === null || result instanceof FailedTransactionMetadata) {
      return { record: null, err: result === null ? 'AccountNotFound' : transactionErrorJson(result.err()), logs: [] };
    }
    const after = this.account(to);
    const record: TransactionRecord = {
      signature: bs58.encode(result.signature()), slot, blockTime: this.clock.blockTime(slot), err: null,
      wire: null, version: 'legacy', accountKeys: [to.toBase58()], loadedAddresses: { writable: [], readonly: [] },
      fee: 0, computeUnits: Number(result.computeUnitsConsumed()), logs: result.logs(), preBalances: [],
      postBalances: [after?.lamports ?? 0], preTokenBalances: [], postTokenBalances: [], innerInstructions: [],
      returnData: null,
    };
    this.commit(new Map([[to.toBase58(), toAccountState(after)]]), record);
    return { record, err: null, logs: record.logs };
  }

  close(): void {
    this.listeners.clear();
    this.store.close();
  }

  /** What a validator refuses before running anything: a replay, or a blockhash it does not know. */
  private precheck(tx: VersionedTransaction, checkBlockhash: boolean): TransactionErrorJson | null {
    const signature = tx.signatures[0];
    if (signature !== undefined && this.store.transactions.has(bs58.encode(signature))) return 'AlreadyProcessed';
    if (checkBlockhash && this.clock.blockhashSlot(tx.message.recentBlockhash) === undefined) {
      return 'BlockhashNotFound';
    }
    return null;
  }

  private commit(changed: Map<string, AccountState | null>, record: TransactionRecord): void {
    try {
      this.store.commit({ accounts: changed, transaction: record });
    } catch (error) {
      const fatal = new Error(`could not persist transaction ${record.signature}: ${(error as Error).message}`);
      if (this.options.onFatal === undefined) throw fatal;
      this.options.onFatal(fatal);
      throw fatal;
    }
    const keys = [...changed.keys()];
    for (const listener of this.listeners) {
      try {
        listener(record, keys);
      } catch {
        // A subscriber's trouble must not read as a failed transaction: the commit is already durable.
      }
    }
  }
}

function toAccountState(info: AccountSnapshot): AccountState | null {
  if (info === null || info.lamports === 0) return null;
  const { lamports, executable } = info;
  return { lamports, owner: info.owner.toBase58(), executable, rentEpoch: info.rentEpoch ?? 0,
    data: Buffer.from(info.data) };
}

function toAccountInfo(state: AccountState) {
  // A rent-exempt account's rent epoch is u64::MAX, which a JS number cannot carry back into LiteSVM.
  const rentEpoch = state.rentEpoch >= 2 ** 64 ? (U64_MAX as unknown as number) : state.rentEpoch;
  return { lamports: state.lamports, owner: new PublicKey(state.owner), executable: state.executable, rentEpoch,
    data: state.data };
}
