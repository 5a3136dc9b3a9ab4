import { BN, EventParser, Program, type Idl, type Provider } from '@coral-xyz/anchor';
import { TOKEN_PROGRAM_ID } from '@solana/spl-token';
import {
  PublicKey,
  SystemProgram,
  type AccountMeta,
  type Connection,
  type TransactionInstruction,
} from '@solana/web3.js';
import idlJson from '../../programs/lease_escrow/idl/lease_escrow.json';
import { programAddress } from './program-address';

/**
 * The lease_escrow program (DESIGN §4) seen through `@coral-xyz/anchor`: its PDAs, one builder per instruction,
 * typed account reads and event parsing. Amounts are bigint base units throughout; BN stays inside.
 * Builders only build: sending, signing and retrying belong to the caller.
 */
export const LEASE_ESCROW_IDL = idlJson as Idl;
export const LEASE_ESCROW_PROGRAM_ID = new PublicKey(LEASE_ESCROW_IDL.address);
/** Providers one settlement can pay (one transaction per lease per period). */
export const MAX_PAYOUTS = 16;
export const BPS_DENOMINATOR = 10_000n;
/** Byte offset of `Lease.customer`, for `getProgramAccounts` memcmp filters. */
export const LEASE_CUSTOMER_OFFSET = 24;
export const LEASE_ACCOUNT_SIZE = 255;
/** The shortest reclaim grace the program accepts in its Config (economics.rs says why), from the IDL. */
export const MIN_RECLAIM_GRACE_SECONDS = idlConstant('MIN_RECLAIM_GRACE_SECONDS');

function idlConstant(name: string): bigint {
  const value = LEASE_ESCROW_IDL.constants?.find((c) => c.name === name)?.value;
  if (value === undefined) throw new Error(`the lease_escrow IDL has no constant ${name}`);
  return BigInt(value);
}

export type EscrowLeaseStatus = 'open' | 'closed' | 'reclaimed';

export interface EscrowConfig {
  admin: PublicKey;
  settlementAuthority: PublicKey;
  mint: PublicKey;
  treasury: PublicKey;
  feeBps: number;
  burnBps: number;
  reclaimGraceSeconds: bigint;
  bump: number;
}

export interface EscrowLease {
  leaseId: Uint8Array;
  customer: PublicKey;
  mint: PublicKey;
  vault: PublicKey;
  maxRatePerSecond: bigint;
  deposited: bigint;
  paidToProviders: bigint;
  /** Sent to the treasury. */
  fees: bigint;
  burned: bigint;
  refunded: bigint;
  startTime: bigint;
  durationSeconds: bigint;
  reclaimGraceSeconds: bigint;
  /** How far ahead of the chain's clock the deposit may reach: the allowance is never drawn beyond it. */
  windowSeconds: bigint;
  /** The Config's fee share when the lease opened; every settlement of this lease splits with it. */
  feeBps: number;
  /** The Config's burn share (of the fee) when the lease opened. */
  burnBps: number;
  /** 0 until the first settlement; periods are numbered from 1. */
  lastPeriod: bigint;
  lastSettledAt: bigint;
  status: EscrowLeaseStatus;
  receiptsDigest: Uint8Array;
  bump: number;
  vaultBump: number;
}

/** An event as Anchor's EventParser decodes it: camelCase name and fields, BN for integers. */
export interface EscrowEvent {
  name: string;
  data: Record<string, unknown>;
}

export interface Payout {
  /** The provider's token account of the payment mint. */
  tokenAccount: PublicKey;
  /** Gross amount owed (seconds × price); the provider receives it less the fee. */
  amount: bigint;
}

export interface FeeSplit {
  toProvider: bigint;
  toTreasury: bigint;
  toBurn: bigint;
}

/** The program's split of one payout (economics.rs `fee_split`) at its Lease's shares, for ledgers that must agree to the unit. */
export function feeSplit(gross: bigint, feeBps: number, burnBps: number): FeeSplit {
  const fee = (gross * BigInt(feeBps)) / BPS_DENOMINATOR;
  const toBurn = (fee * BigInt(burnBps)) / BPS_DENOMINATOR;
  return { toProvider: gross - fee, toTreasury: fee - toBurn, toBurn };
}

/** The engine's lease UUID as the program's 16-byte lease id. */
export function leaseIdBytes(leaseId: string | Uint8Array): Uint8Array {
  if (typeof leaseId !== 'string') {
    if (leaseId.length !== 16) throw new Error(`a lease id is 16 bytes, got ${leaseId.length}`);
    return leaseId;
  }
  const hex = leaseId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`lease id "${leaseId}" is not a UUID`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function configAddress(programId = LEASE_ESCROW_PROGRAM_ID): PublicKey {
  return programAddress([Buffer.from('config')], programId);
}

/** The upgradeable BPF loader, under which lease_escrow is deployed (`solana program deploy`). */
export const UPGRADEABLE_LOADER_ID = new PublicKey('BPFLoaderUpgradeab1e11111111111111111111111');

/**
 * The program's ProgramData account: the loader's PDA `[program id]`, which holds the upgrade authority, the only key
 * that may initialize the Config.
 */
export function programDataAddress(programId = LEASE_ESCROW_PROGRAM_ID): PublicKey {
  return programAddress([programId.toBuffer()], UPGRADEABLE_LOADER_ID);
}

export function leaseAddress(leaseId: string | Uint8Array, programId = LEASE_ESCROW_PROGRAM_ID): PublicKey {
  return programAddress([Buffer.from('lease'), leaseIdBytes(leaseId)], programId);
}

export function vaultAddress(lease: PublicKey, programId = LEASE_ESCROW_PROGRAM_ID): PublicKey {
  return programAddress([Buffer.from('vault'), lease.toBuffer()], programId);
}

/**
 * The customer's allowance delegate: the PDA `["allowance", wallet]` that the customer approves on its token account
 * (`spl-token approve`). Only the program signs as it, and only to move that customer's tokens into its own leases.
 */
export function allowanceAddress(customer: PublicKey, programId = LEASE_ESCROW_PROGRAM_ID): PublicKey {
  return programAddress([Buffer.from('allowance'), customer.toBuffer()], programId);
}

/** The named program error of a failed transaction's custom error code, if it is one of this program's. */
export function escrowErrorName(code: number): string | undefined {
  return LEASE_ESCROW_IDL.errors?.find((e) => e.code === code)?.name;
}

const bn = (v: bigint | number) => new BN(v.toString());
const big = (v: unknown) => BigInt((v as BN).toString());
const writable = (pubkey: PublicKey): AccountMeta => ({ pubkey, isSigner: false, isWritable: true });

/** The settings of initialize_config and update_config (all but the mint, which never changes). */
export interface ConfigSettings {
  settlementAuthority: PublicKey;
  feeBps: number;
  /** Share of each fee that is burned, in basis points of the fee. */
  burnBps: number;
  reclaimGraceSeconds: bigint;
}

export interface SettleParams {
  settlementAuthority: PublicKey;
  lease: PublicKey;
  mint: PublicKey;
  treasury: PublicKey;
  period: bigint;
  /** 32 bytes: the digest of the period's proof receipts. */
  receiptsDigest: Uint8Array;
  payouts: Payout[];
}

export class EscrowClient {
  readonly program: Program;

  /** `connection` is only used by the fetch methods; builders work offline. */
  constructor(connection: Connection, readonly programId: PublicKey = LEASE_ESCROW_PROGRAM_ID) {
    const provider: Provider = { connection };
    this.program = new Program({ ...LEASE_ESCROW_IDL, address: programId.toBase58() }, provider);
  }

  get configAddress(): PublicKey {
    return configAddress(this.programId);
  }

  leaseAddress(leaseId: string | Uint8Array): PublicKey {
    return leaseAddress(leaseId, this.programId);
  }

  vaultAddress(lease: PublicKey): PublicKey {
    return vaultAddress(lease, this.programId);
  }

  /** Signed by `admin`, which must be the program's upgrade authority (read from its ProgramData account). */
  initializeConfig(
    p: ConfigSettings & { admin: PublicKey; mint: PublicKey; treasury: PublicKey },
  ): Promise<TransactionInstruction> {
    const args = [p.settlementAuthority, p.feeBps, p.burnBps, bn(p.reclaimGraceSeconds)];
    const accounts = { admin: p.admin, config: this.configAddress, mint: p.mint, treasury: p.treasury };
    const programs = { systemProgram: SystemProgram.programId, programData: programDataAddress(this.programId) };
    return this.method('initializeConfig')(...args)
      .accountsStrict({ ...accounts, ...programs })
      .instruction();
  }

  updateConfig(
    p: ConfigSettings & { admin: PublicKey; treasury: PublicKey; newAdmin: PublicKey },
  ): Promise<TransactionInstruction> {
    const args = [p.newAdmin, p.settlementAuthority, p.feeBps, p.burnBps, bn(p.reclaimGraceSeconds)];
    return this.method('updateConfig')(...args)
      .accountsStrict({ admin: p.admin, config: this.configAddress, treasury: p.treasury })
      .instruction();
  }

  allowanceAddress(customer: PublicKey): PublicKey {
    return allowanceAddress(customer, this.programId);
  }

  /**
   * Opens the lease with `deposit` drawn from the customer's allowance; signed by the settlement authority alone (it pays
   * the rents). Payouts are capped at `maxRatePerSecond` × (min(now, end) − open); the deposit may reach at most
   * `windowSeconds` ahead, and never exceeds the rate for its seconds.
   */
  openLease(p: {
    settlementAuthority: PublicKey;
    customer: PublicKey;
    leaseId: string | Uint8Array;
    mint: PublicKey;
    customerToken: PublicKey;
    maxRatePerSecond: bigint;
    durationSeconds: bigint;
    deposit: bigint;
    windowSeconds: bigint;
  }): Promise<TransactionInstruction> {
    const lease = this.leaseAddress(p.leaseId);
    const args = [Array.from(leaseIdBytes(p.leaseId)), bn(p.maxRatePerSecond), bn(p.durationSeconds), bn(p.deposit),
      bn(p.windowSeconds)];
    const accounts = { settlementAuthority: p.settlementAuthority, config: this.configAddress, customer: p.customer,
      allowance: this.allowanceAddress(p.customer), lease, vault: this.vaultAddress(lease) };
    const programs = { tokenProgram: TOKEN_PROGRAM_ID, systemProgram: SystemProgram.programId };
    return this.method('openLease')(...args)
      .accountsStrict({ ...accounts, mint: p.mint, customerToken: p.customerToken, ...programs })
      .instruction();
  }

  /**
   * Buys `extendSeconds` more of the lease at most at its rate, from the customer's allowance; the settlement authority
   * signs. The program refuses an end beyond the lease's window from now.
   */
  topUp(p: {
    settlementAuthority: PublicKey;
    lease: PublicKey;
    customer: PublicKey;
    customerToken: PublicKey;
    amount: bigint;
    extendSeconds: bigint;
  }): Promise<TransactionInstruction> {
    const accounts = { settlementAuthority: p.settlementAuthority, config: this.configAddress, lease: p.lease,
      vault: this.vaultAddress(p.lease), customerToken: p.customerToken, allowance: this.allowanceAddress(p.customer) };
    return this.method('topUp')(bn(p.amount), bn(p.extendSeconds))
      .accountsStrict({ ...accounts, tokenProgram: TOKEN_PROGRAM_ID })
      .instruction();
  }

  settle(p: SettleParams): Promise<TransactionInstruction> {
    return this.method('settle')(...this.settleArgs(p))
      .accountsStrict(this.settleAccounts(p))
      .remainingAccounts(p.payouts.map((payout) => writable(payout.tokenAccount)))
      .instruction();
  }

  /** The last (partial) period's payouts, then the refund to `customerToken` (owned by the customer). */
  closeLease(p: SettleParams & { customer: PublicKey; customerToken: PublicKey }): Promise<TransactionInstruction> {
    return this.method('closeLease')(...this.settleArgs(p))
      .accountsStrict({ ...this.settleAccounts(p), customerToken: p.customerToken, customer: p.customer })
      .remainingAccounts(p.payouts.map((payout) => writable(payout.tokenAccount)))
      .instruction();
  }

  /** The customer alone, after start + duration + grace. */
  reclaim(p: { customer: PublicKey; lease: PublicKey; customerToken: PublicKey }): Promise<TransactionInstruction> {
    const accounts = { customer: p.customer, lease: p.lease, vault: this.vaultAddress(p.lease) };
    return this.method('reclaim')()
      .accountsStrict({ ...accounts, customerToken: p.customerToken, tokenProgram: TOKEN_PROGRAM_ID })
      .instruction();
  }

  decodeConfig(data: Buffer): EscrowConfig {
    const c = this.program.coder.accounts.decode('config', data);
    return { ...c, reclaimGraceSeconds: big(c.reclaimGraceSeconds) } as EscrowConfig;
  }

  decodeLease(data: Buffer): EscrowLease {
    const l = this.program.coder.accounts.decode('lease', data);
    const integers = ['maxRatePerSecond', 'deposited', 'paidToProviders', 'fees', 'burned', 'refunded', 'startTime',
      'durationSeconds', 'reclaimGraceSeconds', 'windowSeconds', 'lastPeriod', 'lastSettledAt'];
    const out: Record<string, unknown> = { ...l };
    for (const key of integers) out[key] = big(l[key]);
    out.leaseId = Uint8Array.from(l.leaseId as number[]);
    out.receiptsDigest = Uint8Array.from(l.receiptsDigest as number[]);
    out.status = Object.keys(l.status as object)[0] as EscrowLeaseStatus;
    return out as unknown as EscrowLease;
  }

  async fetchConfig(): Promise<EscrowConfig | null> {
    const info = await this.program.provider.connection.getAccountInfo(this.configAddress);
    return info === null ? null : this.decodeConfig(info.data);
  }

  async fetchLease(lease: PublicKey): Promise<EscrowLease | null> {
    const info = await this.program.provider.connection.getAccountInfo(lease);
    return info === null ? null : this.decodeLease(info.data);
  }

  /** The program's events in a transaction's logs ("Program data: ..." lines of this program only). */
  parseEvents(logs: string[]): EscrowEvent[] {
    return [...new EventParser(this.programId, this.program.coder).parseLogs(logs)];
  }

  private method(name: string) {
    const builder = this.program.methods[name];
    if (builder === undefined) throw new Error(`the IDL has no instruction ${name}`);
    return builder;
  }

  private settleArgs(p: SettleParams): [BN, number[], BN[]] {
    if (p.receiptsDigest.length !== 32) throw new Error('a receipts digest is 32 bytes');
    if (p.payouts.length > MAX_PAYOUTS) throw new Error(`at most ${MAX_PAYOUTS} payouts per settlement`);
    return [bn(p.period), Array.from(p.receiptsDigest), p.payouts.map((payout) => bn(payout.amount))];
  }

  private settleAccounts(p: SettleParams) {
    const { settlementAuthority, lease, mint, treasury } = p;
    const derived = { config: this.configAddress, vault: this.vaultAddress(lease), tokenProgram: TOKEN_PROGRAM_ID };
    return { settlementAuthority, lease, mint, treasury, ...derived };
  }
}
