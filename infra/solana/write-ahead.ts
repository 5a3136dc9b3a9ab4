/**
 * Exactly-once effects on a chain from an at-least-once caller (a Temporal activity that may crash and be
 * retried anywhere): the write-ahead pattern. A transaction is built and signed, and written to the
 * ledger as pending *with its signature* before it is sent. Whoever comes next (a retry, another worker)
 * finds the pending row and asks the chain what became of that signature:
 * - confirmed → record it; never send anything new;
 * - not seen, blockhash still valid → send the same bytes again (same signature: it lands at most once);
 * - not seen, blockhash expired → it can never land; check the chain's own state (`landed`, e.g. the
 *   Lease's last_period) in case it did land unseen, else sign a fresh one and replace the pending row.
 * The program's own checks (strictly increasing periods) remain the backstop, never the plan.
 */
import type { Connection } from '@solana/web3.js';
import { deliver, type DeliveryOptions, type SignedTransaction } from './transaction-delivery';

export type LedgerState<R> = { state: 'confirmed'; result: R } | { state: 'pending'; tx: SignedTransaction } | { state: 'none' };

/** How one effect (one settlement, one open, one top-up) is planned, recorded and recognised. */
export interface WriteAheadEffect<R> {
  /** Names the effect in errors and logs, e.g. "settlement 3 of lease …". */
  describe: string;
  load(): Promise<LedgerState<R>>;
  /**
   * Builds and signs the transaction with a fresh blockhash and writes it as pending: inserted when
   * `replacing` is undefined, else put in place of the pending `replacing` signature. Returns null when
   * another writer got there first (then the caller reads the ledger again).
   */
  signAndRecord(replacing?: string): Promise<SignedTransaction | null>;
  /** Whether the chain's state shows the effect already happened (for a signature the chain no longer knows). */
  landed(): Promise<boolean>;
  /** Marks the pending `tx` confirmed and returns what the caller gets. */
  confirm(tx: SignedTransaction): Promise<R>;
}

export interface WriteAheadOptions extends DeliveryOptions {
  /** Fresh signatures one call may try after expiries before it gives up (the caller retries later). */
  maxRounds?: number;
  /** Told of every transaction signed, put in place of a dead one, or confirmed (for logs). */
  onTransaction?: (event: 'signed' | 'replaced' | 'confirmed', tx: SignedTransaction) => void;
}

export class WriteAheadGaveUp extends Error {
  override name = 'WriteAheadGaveUp';
}

/** Drives one effect to confirmation; throws TransactionFailure when the chain refuses it. */
export async function runWriteAhead<R>(connection: Connection, effect: WriteAheadEffect<R>, options: WriteAheadOptions = {}): Promise<R> {
  const maxRounds = options.maxRounds ?? 4;
  for (let round = 0; round < maxRounds; round++) {
    const ledger = await effect.load();
    if (ledger.state === 'confirmed') return ledger.result;
    let tx: SignedTransaction | null;
    if (ledger.state === 'pending') {
      tx = ledger.tx;
    } else {
      tx = await effect.signAndRecord();
      if (tx === null) continue;
      options.onTransaction?.('signed', tx);
    }
    const delivery = await deliver(connection, tx, { ...options, justSigned: ledger.state === 'none' });
    switch (delivery.outcome) {
      case 'confirmed':
        options.onTransaction?.('confirmed', tx);
        return effect.confirm(tx);
      case 'expired':
        if (await effect.landed()) return effect.confirm(tx);
        await replace(effect, tx, options);
        continue;
      case 'rejected':
        // A refusal such as "period not increasing" may mean our transaction landed unseen; else the same
        // bytes stay pending, to be sent again by the next attempt (a rate limit passes with time).
        if (await effect.landed()) return effect.confirm(tx);
        throw delivery.failure;
      case 'failed':
        // Its signature is spent and nothing moved: the next attempt needs a new transaction.
        await replace(effect, tx, options);
        throw delivery.failure;
    }
  }
  throw new WriteAheadGaveUp(`${effect.describe}: no transaction landed in ${maxRounds} blockhash lifetimes`);
}

async function replace<R>(effect: WriteAheadEffect<R>, dead: SignedTransaction, options: WriteAheadOptions): Promise<void> {
  const fresh = await effect.signAndRecord(dead.signature);
  if (fresh !== null) options.onTransaction?.('replaced', fresh);
}
