/**
 * A market ready for leases: payment mint (6 decimals), treasury, admin, settlement authority, the config
 * initialized, a funded customer that approved its allowance, and some providers with payout token accounts; and a
 * lease opened in it. Only these fixtures hold the customer's keypair: the settlement authority opens and tops up
 * leases without it, through the allowance.
 */
import { randomUUID } from 'node:crypto';
import { createApproveInstruction, createRevokeInstruction } from '@solana/spl-token';
import { TransactionInstruction, type Keypair, type PublicKey } from '@solana/web3.js';
import { MIN_RECLAIM_GRACE_SECONDS } from '../../../infra/solana/escrow-client';
import type { EscrowHarness } from './escrow-harness';

export const FEE_BPS = 250; // 2.5 %
export const BURN_BPS = 4_000; // 40 % of the fee
/** The shortest grace the program accepts. */
export const GRACE_SECONDS = MIN_RECLAIM_GRACE_SECONDS;
export const TOKEN = 1_000_000n; // one token in base units

export interface Provider {
  owner: Keypair;
  token: PublicKey;
}

/** What a customer approves by default: more than any lease of the tests draws. */
export const ALLOWANCE = 5_000n * TOKEN;

/** A customer: its wallet, a token account of the payment mint, and the allowance PDA the program signs as. */
export interface Customer {
  wallet: Keypair;
  token: PublicKey;
  allowance: PublicKey;
}

export interface Market {
  admin: Keypair;
  authority: Keypair;
  mint: PublicKey;
  treasury: PublicKey;
  customer: Keypair;
  customerToken: PublicKey;
  providers: Provider[];
}

/** `customer`: the customer's keypair, when the caller needs a known one (a fixed allowance PDA). */
export async function openMarket(h: EscrowHarness, providerCount = 3, customerKey?: Keypair): Promise<Market> {
  // Only the program's upgrade authority may initialize the config.
  const admin = h.upgradeAuthority;
  const authority = h.wallet();
  const mint = h.createMint(6);
  const treasury = h.createTokenAccount(mint, h.wallet().publicKey);
  const { wallet: customer, token: customerToken } = newCustomer(h, mint, ALLOWANCE, customerKey);
  const providers = Array.from({ length: providerCount }, () => {
    const owner = h.wallet(1);
    return { owner, token: h.createTokenAccount(mint, owner.publicKey) };
  });
  await h.ok(
    h.client.initializeConfig({
      admin: admin.publicKey,
      mint,
      treasury,
      settlementAuthority: authority.publicKey,
      feeBps: FEE_BPS,
      burnBps: BURN_BPS,
      reclaimGraceSeconds: GRACE_SECONDS,
    }),
    [admin],
  );
  return { admin, authority, mint, treasury, customer, customerToken, providers };
}

/** A wallet with 10,000 tokens that approved the program's allowance PDA for `allowance` of them. */
export function newCustomer(h: EscrowHarness, mint: PublicKey, allowance = ALLOWANCE, key?: Keypair): Customer {
  const wallet = h.wallet(10, key);
  const token = h.createTokenAccount(mint, wallet.publicKey, 10_000n * TOKEN);
  approve(h, wallet, token, allowance);
  return { wallet, token, allowance: h.client.allowanceAddress(wallet.publicKey) };
}

/** What `spl-token approve <token> <amount> <allowance PDA>` does, signed by the customer's own key. */
export function approve(h: EscrowHarness, wallet: Keypair, token: PublicKey, amount: bigint, delegate?: PublicKey): void {
  const ix = createApproveInstruction(token, delegate ?? h.client.allowanceAddress(wallet.publicKey), wallet.publicKey, amount);
  const result = h.send([ix], [wallet]);
  if (!result.ok) throw new Error(`approve failed: ${result.error}`);
}

/** `spl-token revoke <token>`, signed by the customer. */
export function revoke(h: EscrowHarness, wallet: Keypair, token: PublicKey): void {
  const result = h.send([createRevokeInstruction(token, wallet.publicKey)], [wallet]);
  if (!result.ok) throw new Error(`revoke failed: ${result.error}`);
}

export interface OpenedLease {
  leaseId: string;
  lease: PublicKey;
  vault: PublicKey;
  deposit: bigint;
  ratePerSecond: bigint;
  durationSeconds: bigint;
  windowSeconds: bigint;
}

export interface LeaseTerms {
  deposit?: bigint;
  ratePerSecond?: bigint;
  durationSeconds?: bigint;
  /** Defaults to the duration: no top-up may then reach past the first end until time has passed. */
  windowSeconds?: bigint;
}

/** Defaults: at most 0.05 token per second, for 3600 s, 100 tokens deposited (or the rate for the whole duration,
 * when that is less: the program refuses a deposit beyond it). */
export function leaseTerms(terms: LeaseTerms = {}) {
  const durationSeconds = terms.durationSeconds ?? 3_600n;
  const ratePerSecond = terms.ratePerSecond ?? 50_000n;
  const cap = ratePerSecond * durationSeconds;
  return {
    deposit: terms.deposit ?? (cap < 100n * TOKEN ? cap : 100n * TOKEN),
    ratePerSecond,
    durationSeconds,
    windowSeconds: terms.windowSeconds ?? durationSeconds,
  };
}

/** The open_lease instruction for `customer` (default: the market's) paying from `customerToken`. */
export function openInstruction(
  h: EscrowHarness,
  m: Market,
  leaseId: string,
  terms: LeaseTerms = {},
  customer: { wallet: PublicKey; token: PublicKey } = { wallet: m.customer.publicKey, token: m.customerToken },
): Promise<TransactionInstruction> {
  const t = leaseTerms(terms);
  return h.client.openLease({
    settlementAuthority: m.authority.publicKey,
    customer: customer.wallet,
    leaseId,
    mint: m.mint,
    customerToken: customer.token,
    maxRatePerSecond: t.ratePerSecond,
    durationSeconds: t.durationSeconds,
    deposit: t.deposit,
    windowSeconds: t.windowSeconds,
  });
}

/** Opened by the settlement authority alone, the deposit drawn from the market customer's allowance. */
export async function openLease(
  h: EscrowHarness,
  m: Market,
  terms: LeaseTerms = {},
  customer?: { wallet: PublicKey; token: PublicKey },
): Promise<OpenedLease> {
  const leaseId = randomUUID();
  await h.ok(openInstruction(h, m, leaseId, terms, customer), [m.authority]);
  const lease = h.client.leaseAddress(leaseId);
  return { leaseId, lease, vault: h.client.vaultAddress(lease), ...leaseTerms(terms) };
}

export function digest(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

/** settle() parameters for `amounts[i]` to provider i. */
export function settlement(m: Market, l: OpenedLease, period: bigint, amounts: bigint[]) {
  return {
    settlementAuthority: m.authority.publicKey,
    lease: l.lease,
    mint: m.mint,
    treasury: m.treasury,
    period,
    receiptsDigest: digest(Number(period % 256n)),
    payouts: amounts.map((amount, i) => ({ tokenAccount: m.providers[i]!.token, amount })),
  };
}

/** The same instruction with the account at `index` replaced (the attacker's substitution). */
export async function substitute(
  instruction: Promise<TransactionInstruction>,
  index: number,
  pubkey: PublicKey,
): Promise<TransactionInstruction> {
  const ix = await instruction;
  const keys = ix.keys.map((meta, i) => (i === index ? { ...meta, pubkey } : meta));
  return new TransactionInstruction({ programId: ix.programId, keys, data: ix.data });
}

/** Every account an attack on this lease could touch (the customer's token account with its delegation too). */
export function watched(h: EscrowHarness, m: Market, l: OpenedLease): PublicKey[] {
  return [
    h.client.configAddress,
    l.lease,
    l.vault,
    m.mint,
    m.treasury,
    m.customerToken,
    h.client.allowanceAddress(m.customer.publicKey),
    ...m.providers.map((p) => p.token),
  ];
}

/** close_lease() parameters: settlement(...) plus the refund to the customer's own token account. */
export function closing(m: Market, l: OpenedLease, period: bigint, amounts: bigint[]) {
  return { ...settlement(m, l, period, amounts), customer: m.customer.publicKey, customerToken: m.customerToken };
}

/** top_up() of `l` by `m`'s settlement authority (it alone signs), drawn from the market customer's allowance. */
export function topUp(h: EscrowHarness, m: Market, l: OpenedLease, amount: bigint, extendSeconds: bigint) {
  return h.client.topUp({
    settlementAuthority: m.authority.publicKey,
    lease: l.lease,
    customer: m.customer.publicKey,
    customerToken: m.customerToken,
    amount,
    extendSeconds,
  });
}
