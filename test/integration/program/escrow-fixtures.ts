/**
 * A market ready for leases: payment mint (6 decimals), treasury, admin, settlement authority, the config
 * initialized, a funded customer and some providers with payout token accounts; and a lease opened in it.
 */
import { randomUUID } from 'node:crypto';
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

export interface Market {
  admin: Keypair;
  authority: Keypair;
  mint: PublicKey;
  treasury: PublicKey;
  customer: Keypair;
  customerToken: PublicKey;
  providers: Provider[];
}

export async function openMarket(h: EscrowHarness, providerCount = 3): Promise<Market> {
  const admin = h.wallet();
  const authority = h.wallet();
  const customer = h.wallet();
  const mint = h.createMint(6);
  const treasury = h.createTokenAccount(mint, h.wallet().publicKey);
  const customerToken = h.createTokenAccount(mint, customer.publicKey, 10_000n * TOKEN);
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

export interface OpenedLease {
  leaseId: string;
  lease: PublicKey;
  vault: PublicKey;
  deposit: bigint;
  ratePerSecond: bigint;
  durationSeconds: bigint;
}

/** Defaults: 100 tokens deposited, at most 0.05 token per second, for 3600 s; co-signed by the settlement authority. */
export async function openLease(
  h: EscrowHarness,
  m: Market,
  terms: { deposit?: bigint; ratePerSecond?: bigint; durationSeconds?: bigint } = {},
): Promise<OpenedLease> {
  const leaseId = randomUUID();
  const deposit = terms.deposit ?? 100n * TOKEN;
  const ratePerSecond = terms.ratePerSecond ?? 50_000n;
  const durationSeconds = terms.durationSeconds ?? 3_600n;
  await h.ok(
    h.client.openLease({
      customer: m.customer.publicKey,
      settlementAuthority: m.authority.publicKey,
      leaseId,
      mint: m.mint,
      customerToken: m.customerToken,
      maxRatePerSecond: ratePerSecond,
      durationSeconds,
      deposit,
    }),
    [m.customer, m.authority],
  );
  const lease = h.client.leaseAddress(leaseId);
  return { leaseId, lease, vault: h.client.vaultAddress(lease), deposit, ratePerSecond, durationSeconds };
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

/** Every account an attack on this lease could touch. */
export function watched(h: EscrowHarness, m: Market, l: OpenedLease): PublicKey[] {
  return [
    h.client.configAddress,
    l.lease,
    l.vault,
    m.mint,
    m.treasury,
    m.customerToken,
    ...m.providers.map((p) => p.token),
  ];
}

/** close_lease() parameters: settlement(...) plus the refund to the customer's own token account. */
export function closing(m: Market, l: OpenedLease, period: bigint, amounts: bigint[]) {
  return { ...settlement(m, l, period, amounts), customer: m.customer.publicKey, customerToken: m.customerToken };
}

/** top_up() by `payer` from its token account, co-signed by `m`'s settlement authority (sign with both). */
export function topUp(
  h: EscrowHarness,
  m: Market,
  l: OpenedLease,
  payer: Keypair,
  payerToken: PublicKey,
  amount: bigint,
  extendSeconds = 0n,
) {
  const settlementAuthority = m.authority.publicKey;
  return h.client.topUp({ payer: payer.publicKey, settlementAuthority, lease: l.lease, payerToken, amount, extendSeconds });
}
