/**
 * One settlement (settle, or the close that also refunds) as a write-ahead effect: the plan of payouts is
 * fixed when it is first written, every later signature of it pays exactly the same amounts to the same
 * token accounts, and whether it landed is decided by the chain. A settle also carries the rolling deposit's
 * top-up (domain/rolling-deposit) in the same transaction, planned from the allowance as the chain has it when
 * the transaction is signed: a replacement plans it again, so a revoked allowance never sinks the payouts.
 */
import { hexToBytes } from '@noble/hashes/utils';
import { PublicKey, SYSVAR_CLOCK_PUBKEY, type AccountInfo } from '@solana/web3.js';
import { MAX_PROVIDERS_PER_SETTLEMENT } from '../domain/billing';
import { planTopUp, type TopUpPlan } from '../domain/rolling-deposit';
import {
  confirmSettlement,
  findCloseSettlement,
  findSettlement,
  insertPendingSettlement,
  lastLedgerPeriod,
  markEscrowReclaimed,
  pendingTransactionOf,
  replacePendingSettlement,
  type SettlementWithPayouts,
} from '../infra/db/repositories/escrow-ledger.repo';
import type { Escrow, SettlementPayout } from '../infra/db/schema';
import { failpoint } from '../infra/failpoints';
import { allowanceAccount, allowanceOf, readAllowance, type Allowance } from '../infra/solana/allowance';
import { feeSplit, type EscrowConfig, type EscrowLease } from '../infra/solana/escrow-client';
import { signTransaction } from '../infra/solana/transaction-delivery';
import type { WriteAheadEffect } from '../infra/solana/write-ahead';
import type { SettlePeriodInput } from './contracts';
import { EscrowReclaimedError, EscrowStateError, requireEscrow, type EscrowContext } from './escrow-context';

export interface SettlementRequest extends SettlePeriodInput {
  kind: 'settle' | 'close';
}

const NO_TOP_UP: TopUpPlan = { extendSeconds: 0, amount: 0n, fundedSeconds: 0, short: false };

/** What a settle's top-up is planned from: the customer's allowance and the chain's clock, as the chain has them now. */
export interface TopUpInputs {
  allowance: Allowance;
  /** The Clock sysvar's unix_timestamp, which the program's window check uses. */
  chainNow: number;
}

/**
 * The top-up a settle carries towards `fundSeconds`, as far as the customer's allowance pays for it now: from `read`
 * when the caller read it with the Lease account (openEscrowAndLease), else read here.
 */
export async function planSettlementTopUp(
  ctx: EscrowContext, escrow: Escrow, lease: EscrowLease, fundSeconds: number | undefined, read?: TopUpInputs,
): Promise<TopUpPlan> {
  const fundedSeconds = Number(lease.durationSeconds);
  if (fundSeconds === undefined || fundSeconds <= fundedSeconds) return { ...NO_TOP_UP, fundedSeconds };
  const { allowance, chainNow } = read ?? (await readTopUpInputs(ctx, escrow, lease));
  // The program refuses an end beyond its clock + the window (BeyondWindow): a real cluster's clock may lag ours, so the
  // target is also capped by the chain's own clock as read now (it only moves on before the transaction executes).
  const reachable = Number(BigInt(chainNow) + lease.windowSeconds - lease.startTime);
  const targetSeconds = Math.min(fundSeconds, Math.max(fundedSeconds, reachable));
  // Short only when the allowance was: a lagging clock defers the rest to the next period, it is not the customer's doing.
  return planTopUp({ maxRatePerSecond: lease.maxRatePerSecond, fundedSeconds, targetSeconds, spendable: allowance.spendable });
}

async function readTopUpInputs(ctx: EscrowContext, escrow: Escrow, lease: EscrowLease): Promise<TopUpInputs> {
  const owner = { wallet: new PublicKey(escrow.customer_wallet), mint: lease.mint, programId: ctx.client.programId };
  const [allowance, clock] = await Promise.all([readAllowance(ctx.connection, owner), ctx.connection.getAccountInfo(SYSVAR_CLOCK_PUBKEY)]);
  return { allowance, chainNow: clockUnixSeconds(clock) };
}

/** The Clock sysvar's unix_timestamp (at byte 32). */
function clockUnixSeconds(info: AccountInfo<Buffer> | null): number {
  if (info === null || info.data.length < 40) throw new EscrowStateError('the chain has no Clock sysvar to read');
  return Number(info.data.readBigInt64LE(32));
}

/**
 * Reads the lease's escrow for a new transaction: throws EscrowReclaimedError when the customer reclaimed it (and
 * records so in the ledger with the chain's figures), EscrowStateError when it is not open. With `topUpInputs`, the
 * customer's token account and the Clock sysvar are read in the same request as the Lease account: a settle's
 * reads are one request, where they were three.
 */
export async function openEscrowAndLease(
  ctx: EscrowContext, leaseId: string, p: { topUpInputs?: boolean } = {},
): Promise<{ escrow: Escrow; lease: EscrowLease; topUpInputs?: TopUpInputs }> {
  const escrow = await requireEscrow(ctx, leaseId, 'open', 'reclaimed');
  const address = new PublicKey(escrow.address);
  const owner = { wallet: new PublicKey(escrow.customer_wallet), mint: new PublicKey(escrow.mint), programId: ctx.client.programId };
  const [leaseInfo, tokenInfo, clockInfo] = p.topUpInputs
    ? await ctx.connection.getMultipleAccountsInfo([address, allowanceAccount(owner), SYSVAR_CLOCK_PUBKEY])
    : [await ctx.connection.getAccountInfo(address)];
  const lease = leaseInfo ? ctx.client.decodeLease(leaseInfo.data) : null;
  if (lease === null) throw new EscrowStateError(`lease ${leaseId} has no Lease account on-chain`);
  if (escrow.status === 'reclaimed' || lease.status === 'reclaimed') {
    await markEscrowReclaimed(ctx.db, leaseId, { refunded: lease.refunded, deposited: lease.deposited });
    throw new EscrowReclaimedError(leaseId, lease.refunded);
  }
  // The token account read is of the mint the ledger names; the Lease account's own mint decides (else read again).
  const topUpInputs = p.topUpInputs && lease.mint.equals(owner.mint)
    ? { allowance: allowanceOf(owner, tokenInfo ?? null), chainNow: clockUnixSeconds(clockInfo ?? null) }
    : undefined;
  return { escrow, lease, topUpInputs };
}

/**
 * Payout rows with the program's split under the lease's own fee and burn shares, read from its Lease account:
 * the program fixes them at open, so the ledger agrees with the chain whatever update_config did since.
 */
function split(rows: Omit<SettlementPayout, 'net' | 'fee' | 'burn'>[], lease: Pick<EscrowLease, 'feeBps' | 'burnBps'>) {
  const payouts: SettlementPayout[] = rows.map((row) => {
    const s = feeSplit(BigInt(row.gross), lease.feeBps, lease.burnBps);
    return { ...row, net: s.toProvider.toString(), fee: s.toTreasury.toString(), burn: s.toBurn.toString() };
  });
  const sum = (key: 'gross' | 'fee' | 'burn') => payouts.reduce((total, p) => total + BigInt(p[key]), 0n).toString();
  return { payouts, totals: { gross: sum('gross'), fee: sum('fee'), burned: sum('burn') } };
}

function validate(request: SettlementRequest): void {
  const where = `${request.kind} of period ${request.period} of lease ${request.leaseId}`;
  if (!Number.isSafeInteger(request.period) || request.period < 1) throw new EscrowStateError(`${where}: periods are numbered from 1`);
  if (!/^[0-9a-f]{64}$/i.test(request.receiptsDigest)) throw new EscrowStateError(`${where}: the receipts digest is not 32 bytes of hex`);
  if (request.payouts.length > MAX_PROVIDERS_PER_SETTLEMENT) {
    throw new EscrowStateError(`${where}: ${request.payouts.length} payouts, at most ${MAX_PROVIDERS_PER_SETTLEMENT}`);
  }
  const providers = new Set(request.payouts.map((p) => p.providerId));
  if (providers.size !== request.payouts.length) throw new EscrowStateError(`${where}: a provider appears twice`);
  for (const p of request.payouts) {
    if (!/^\d+$/.test(p.amount) || BigInt(p.amount) === 0n) throw new EscrowStateError(`${where}: ${p.providerId} is owed "${p.amount}", not a positive amount`);
    if (!Number.isSafeInteger(p.seconds) || p.seconds < 0) throw new EscrowStateError(`${where}: ${p.providerId} has ${p.seconds} seconds`);
  }
}

export function settlementEffect(ctx: EscrowContext, request: SettlementRequest): WriteAheadEffect<SettlementWithPayouts> {
  const { db, client, leaseId } = { ...ctx, leaseId: request.leaseId };
  // A close already planned keeps its period, whatever period a retry asks for.
  let period = request.period;
  const key = () => ({ leaseId, period });

  const find = async () => {
    const found = request.kind === 'close' ? await findCloseSettlement(db, leaseId) : await findSettlement(db, leaseId, period);
    if (found === undefined) return undefined;
    if (found.settlement.kind !== request.kind) {
      throw new EscrowStateError(`period ${period} of lease ${leaseId} is already its ${found.settlement.kind}`);
    }
    if (request.kind === 'settle' && found.settlement.receipts_digest.toLowerCase() !== request.receiptsDigest.toLowerCase()) {
      // A retry asks for what its first attempt wrote. One for other receipts (a close that took more on a second
      // run) would be counted as paid by the workflow while the chain paid the first plan: refused, loudly.
      throw new EscrowStateError(`period ${period} of lease ${leaseId} was planned with other receipts (digest ${found.settlement.receipts_digest}): it is not planned again`);
    }
    period = Number(found.settlement.period);
    return found;
  };

  async function instructions(escrow: Escrow, config: EscrowConfig, digest: string, payouts: SettlementPayout[], topUp: TopUpPlan) {
    const settle = await instruction(escrow, config, digest, payouts);
    if (topUp.extendSeconds === 0) return [settle];
    const customer = new PublicKey(escrow.customer_wallet);
    return [settle, await client.topUp({ settlementAuthority: ctx.settlementAuthority.publicKey, lease: new PublicKey(escrow.address),
      customer, customerToken: await ctx.customerTokenAccount(customer), amount: topUp.amount, extendSeconds: BigInt(topUp.extendSeconds) })];
  }

  async function instruction(escrow: Escrow, config: EscrowConfig, digest: string, payouts: SettlementPayout[]) {
    const params = {
      settlementAuthority: ctx.settlementAuthority.publicKey,
      lease: new PublicKey(escrow.address),
      mint: config.mint,
      treasury: config.treasury,
      period: BigInt(period),
      receiptsDigest: hexToBytes(digest.toLowerCase()),
      payouts: payouts.map((p) => ({ tokenAccount: new PublicKey(p.token_account), amount: BigInt(p.gross) })),
    };
    if (request.kind === 'settle') return client.settle(params);
    const customer = new PublicKey(escrow.customer_wallet);
    return client.closeLease({ ...params, customer, customerToken: await ctx.customerTokenAccount(customer) });
  }

  return {
    // A getter: a close may move to a later period when it is first planned.
    get describe() {
      return `${request.kind} of period ${period} of lease ${leaseId}`;
    },

    async load() {
      const found = await find();
      if (found === undefined) return { state: 'none' };
      if (found.settlement.status === 'confirmed') return { state: 'confirmed', result: found };
      if (request.kind === 'settle' && (await findCloseSettlement(db, leaseId)) !== undefined) {
        // Its close was planned after it (see signAndRecord) and pays what it would have: never sent again.
        throw new EscrowStateError(`lease ${leaseId} is closing; its pending settlement of period ${period} is not sent again`);
      }
      return { state: 'pending', tx: pendingTransactionOf(found.settlement) };
    },

    async signAndRecord(replacing) {
      const settle = request.kind === 'settle';
      const { escrow, lease, topUpInputs } = await openEscrowAndLease(ctx, leaseId, { topUpInputs: settle });
      const config = await ctx.config();
      const topUp = settle ? await planSettlementTopUp(ctx, escrow, lease, request.fundSeconds, topUpInputs) : NO_TOP_UP;
      const topUpColumns = { top_up: topUp.amount.toString(), top_up_seconds: String(topUp.extendSeconds) };
      if (replacing !== undefined) {
        const planned = await find();
        if (planned === undefined) return null;
        const { payouts, totals } = split(planned.payouts, lease);
        const tx = await signTransaction(ctx.connection, ctx.settlementAuthority,
          await instructions(escrow, config, planned.settlement.receipts_digest, payouts, topUp));
        return (await replacePendingSettlement(db, { ...key(), dead: replacing }, { ...totals, ...topUpColumns }, payouts, tx)) ? tx : null;
      }
      validate(request);
      if (request.kind === 'settle' && (await findCloseSettlement(db, leaseId)) !== undefined) {
        throw new EscrowStateError(`lease ${leaseId} is closing; period ${period} cannot be settled after its close`);
      }
      if (request.kind === 'close') {
        // After every period the ledger holds, pending ones too: a settle refused for good (the workflow closes the
        // lease then, its bill unpaid) keeps its row and period, and a close planned into that period would never be
        // recorded, leaving the lease closing for ever. Periods only need to rise on-chain; once the close is
        // written no settle is planned again, and once it lands none can land.
        period = Math.max(period, (await lastLedgerPeriod(db, leaseId)) + 1);
      }
      const accounts = await ctx.payoutAccounts.resolve(request.payouts.map((p) => p.providerId), config.mint);
      const { payouts, totals } = split(request.payouts.map((p) => ({ lease_id: leaseId, period: String(period),
        provider_id: p.providerId, token_account: accounts.get(p.providerId)!.toBase58(), seconds: p.seconds, gross: p.amount })), lease);
      const digest = request.receiptsDigest.toLowerCase();
      const tx = await signTransaction(ctx.connection, ctx.settlementAuthority, await instructions(escrow, config, digest, payouts, topUp));
      const settlement = { lease_id: leaseId, period: String(period), kind: request.kind, receipts_digest: digest, ...totals, ...topUpColumns };
      return (await insertPendingSettlement(db, settlement, payouts, tx)) ? tx : null;
    },

    async landed() {
      const escrow = await requireEscrow(ctx, leaseId, 'open', 'closed');
      const lease = await client.fetchLease(new PublicKey(escrow.address));
      if (lease === null || lease.lastPeriod < BigInt(period)) return false;
      // A later period the ledger confirmed also explains last_period ≥ period: then it says nothing about this one.
      if (request.kind === 'settle') return (await lastLedgerPeriod(db, leaseId, 'confirmed')) < period;
      return lease.status === 'closed';
    },

    async confirm(tx) {
      // Test-only crash point (inert unless LEASE_ENGINE_FAILPOINTS arms it): sent and landed, not yet recorded.
      failpoint('after-settlement-sent');
      if (request.kind === 'close') {
        const escrow = await requireEscrow(ctx, leaseId, 'open', 'closed');
        const lease = await client.fetchLease(new PublicKey(escrow.address));
        if (lease === null) throw new EscrowStateError(`the Lease account of lease ${leaseId} is gone after its close`);
        await confirmSettlement(db, { ...key(), signature: tx.signature }, { refunded: lease.refunded, deposited: lease.deposited });
      } else {
        await confirmSettlement(db, { ...key(), signature: tx.signature });
      }
      ctx.log?.info({ leaseId, period, kind: request.kind, signature: tx.signature }, 'settlement confirmed');
      return (await find())!;
    },
  };
}
