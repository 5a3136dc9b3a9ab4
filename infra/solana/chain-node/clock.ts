/**
 * Slots and blockhashes that follow wall time, as a cluster's do: 2.5 slots a second since genesis, one
 * blockhash per slot, each valid for 150 slots (about a minute). LiteSVM's clock stands still and knows one
 * blockhash at a time, so the node checks blockhash age itself and writes this clock into the Clock sysvar
 * before every transaction and read. Blockhashes are derived from the genesis hash and the slot, so the ones
 * handed out before a restart stay valid after it.
 */
import { createHash } from 'node:crypto';
import bs58 from 'bs58';
import type { LiteSVM } from 'litesvm';

export const SLOTS_PER_SECOND = 2.5;
/** A real cluster's MAX_PROCESSING_AGE. */
export const BLOCKHASH_VALIDITY_SLOTS = 150;
export const SLOTS_PER_EPOCH = 432_000;

export interface Genesis {
  /** base58, 32 bytes: what getGenesisHash answers. */
  hash: string;
  /** Wall time of slot 0. */
  unixMs: number;
}

export interface LatestBlockhash {
  slot: number;
  blockhash: string;
  lastValidBlockHeight: number;
}

export class WallClock {
  private lastSlot = 0;
  private lastUnixSeconds = 0;
  private readonly hashes = new Map<string, number>();

  constructor(
    readonly genesis: Genesis,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Never goes back, even if the wall clock does. */
  slot(): number {
    const elapsed = Math.max(0, this.nowMs() - this.genesis.unixMs);
    this.lastSlot = Math.max(this.lastSlot, Math.floor((elapsed * SLOTS_PER_SECOND) / 1000));
    return this.lastSlot;
  }

  /** No slot is skipped, so the block height is the slot. */
  blockHeight(): number {
    return this.slot();
  }

  unixSeconds(): number {
    this.lastUnixSeconds = Math.max(this.lastUnixSeconds, Math.floor(this.nowMs() / 1000));
    return this.lastUnixSeconds;
  }

  /** When a slot's block was produced, in unix seconds. */
  blockTime(slot: number): number {
    return Math.floor((this.genesis.unixMs + (slot * 1000) / SLOTS_PER_SECOND) / 1000);
  }

  blockhash(slot: number): string {
    const hash = bs58.encode(createHash('sha256').update(`${this.genesis.hash}:${slot}`).digest());
    this.hashes.set(hash, slot);
    if (this.hashes.size > 4 * BLOCKHASH_VALIDITY_SLOTS) this.forgetOldHashes(slot);
    return hash;
  }

  latestBlockhash(): LatestBlockhash {
    const slot = this.slot();
    return { slot, blockhash: this.blockhash(slot), lastValidBlockHeight: slot + BLOCKHASH_VALIDITY_SLOTS };
  }

  /** The slot a still-valid blockhash was issued in, or undefined when it is unknown or too old. */
  blockhashSlot(blockhash: string): number | undefined {
    const current = this.slot();
    if (!this.hashes.has(blockhash)) {
      // Issued before a restart (or by another node of this genesis): recompute the window once.
      for (let s = Math.max(0, current - BLOCKHASH_VALIDITY_SLOTS); s <= current; s++) this.blockhash(s);
    }
    const slot = this.hashes.get(blockhash);
    return slot !== undefined && current - slot <= BLOCKHASH_VALIDITY_SLOTS ? slot : undefined;
  }

  /** Writes the wall-time clock into LiteSVM's Clock sysvar; returns the slot. */
  applyTo(svm: LiteSVM): number {
    const slot = this.slot();
    const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
    const clock = svm.getClock();
    clock.slot = BigInt(slot);
    clock.unixTimestamp = BigInt(this.unixSeconds());
    clock.epoch = BigInt(epoch);
    clock.leaderScheduleEpoch = BigInt(epoch + 1);
    clock.epochStartTimestamp = BigInt(this.blockTime(epoch * SLOTS_PER_EPOCH));
    svm.setClock(clock);
    return slot;
  }

  private forgetOldHashes(current: number): void {
    for (const [hash, slot] of this.hashes) {
      if (current - slot > BLOCKHASH_VALIDITY_SLOTS) this.hashes.delete(hash);
    }
  }
}
