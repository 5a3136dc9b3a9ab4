/**
 * The escrow activities (DESIGN §2 steps 2, 4, 6): the lease's money on Solana through the lease_escrow
 * program, over JSON-RPC only. Each one is a write-ahead effect (infra/solana/write-ahead.ts) keyed on its
 * natural key, so a retry after a crash at any point, even between sending a transaction and recording
 * it, confirms what was sent instead of paying again; the program's strictly increasing periods are the
 * backstop. Schedule them with a start-to-close timeout above two minutes: a transaction that never lands
 * is known dead only once its blockhash expires (about a minute), and then a fresh one is sent.
 */
import { PublicKey } from '@solana/web3.js';
import { ApplicationFailure } from '@temporalio/common';
import { receiptsDigest } from '../domain/billing';
import {
  deleteAbandonedOpening,
  findCloseSettlement,
  findEscrow,
  findSettlement,
  lastLedgerPeriod,
  pendingTransactionOf,
  type SettlementWithPayouts,
} from '../infra/db/repositories/escrow-ledger.repo';
import { deliver, TransactionFailure, type Delivery, type SignedTransaction } from '../infra/solana/transaction-delivery';
import { runWriteAhead, type WriteAheadEffect } from '../infra/solana/write-ahead';
import { readAllowance } from '../infra/solana/allowance';
import type { CloseEscrowRecord, EscrowActivities, EscrowFunding, OpenEscrowInput, SettlePeriodInput, SettlementRecord } from './contracts';
import { asActivityFailure, escrowContext, EscrowReclaimedError, type EscrowActivityDeps, type EscrowContext } from './escrow-context';
import { checkOpenedTerms, openEffect } from './escrow-deposit.effect';
import { openEscrowAndLease, planSettlementTopUp, settlementEffect } from './escrow-settlement.effect';

export type { EscrowActivityDeps } from './escrow-context';

function settlementRecord({ settlement, payouts }: SettlementWithPayouts): SettlementRecord {
  const net = BigInt(settlement.gross) - BigInt(settlement.fee) - BigInt(settlement.burned);
  return {
    leaseId: settlement.lease_id,
    period: Number(settlement.period),
    kind: settlement.kind,
    signature: settlement.signature,
    receiptsDigest: settlement.receipts_digest,
    payouts: payouts.map((p) => ({ providerId: p.provider_id, tokenAccount: p.token_account, seconds: p.seconds, gross: p.gross,
      net: p.net, fee: p.fee, burn: p.burn })),
    gross: settlement.gross,
    net: net.toString(),
    fee: settlement.fee,
    burned: settlement.burned,
  };
}

const closeRecord = (found: SettlementWithPayouts): CloseEscrowRecord =>
  ({ ...settlementRecord(found), refunded: found.settlement.refunded });

/**
 * A refusal may be the program's LeaseNotOpen because the customer reclaimed the escrow meanwhile: then say so (and
 * record it), so the lease ends for that reason instead of retrying or failing for another.
 */
async function explainReclaim(ctx: EscrowContext, leaseId: string, error: unknown): Promise<never> {
  if (!(error instanceof EscrowReclaimedError)) {
    try {
      await openEscrowAndLease(ctx, leaseId);
    } catch (reclaimed) {
      if (reclaimed instanceof EscrowReclaimedError) return asActivityFailure(reclaimed);
    }
  }
  return asActivityFailure(error);
}

/**
 * The token program's refusals of a draw on the allowance. In a settle only its top_up draws on it (the payouts leave
 * the vault), so they mean the customer revoked or spent the allowance after the top-up was planned. That sinks the
 * signed bytes, payouts included, but must never sink the period: retried, the same bytes are sent until their
 * blockhash expires, and then the write-ahead signs the period again with a top-up planned from the allowance as it is
 * by then (none, once revoked), so the providers are paid. (Replacing the live bytes at once could not be recorded
 * safely: re-approved, they could still land, with a top-up the ledger would no longer know.)
 */
const ALLOWANCE_REFUSALS = new Set(['OwnerMismatch', 'InsufficientFunds']);

function retryAfterAllowanceRefusal(input: SettlePeriodInput, error: unknown): void {
  if (!(error instanceof TransactionFailure) || !ALLOWANCE_REFUSALS.has(error.reason)) return;
  throw ApplicationFailure.create({ type: 'AllowanceChangedError', nonRetryable: false, cause: error, details: [error.logs],
    message: `period ${input.period} of lease ${input.leaseId}: the customer's allowance refused the top-up planned with it (${error.reason}); `
      + 'its payouts are retried, with the top-up planned again once this transaction can no longer land' });
}

/**
 * The settlement lag (period end to the ledger's confirmed_at, both wall clocks) of a period whose transaction was
 * sent. A retry after its confirmation observes the same lag again: that needs a failure after it, which is rare.
 */
function observeSettlementLag(ctx: EscrowContext, input: SettlePeriodInput, { settlement }: SettlementWithPayouts): void {
  if (ctx.metrics === undefined || input.periodEndsAt === undefined || settlement.confirmed_at === null) return;
  ctx.metrics.settlementConfirmed(Math.max(0, settlement.confirmed_at.getTime() - input.periodEndsAt) / 1000);
}

/** Where the rolling deposit stands after a settlement (or a period that needed no transaction). */
async function fundingAfter(ctx: EscrowContext, leaseId: string, fundSeconds: number | undefined, toppedUp: string): Promise<EscrowFunding> {
  const escrow = (await findEscrow(ctx.db, leaseId))!;
  const allowance = await readAllowance(ctx.connection, { wallet: new PublicKey(escrow.customer_wallet), mint: new PublicKey(escrow.mint),
    programId: ctx.client.programId });
  const fundedSeconds = Number(escrow.duration_seconds);
  // Short when the allowance could not pay for the rest of the target (not when the chain's clock deferred a part of it).
  const missing = fundSeconds === undefined ? 0 : Math.max(0, fundSeconds - fundedSeconds);
  const short = missing > 0 && allowance.spendable < BigInt(escrow.max_rate_per_second) * BigInt(missing);
  return { fundedSeconds, toppedUp, spendableAfter: allowance.spendable.toString(), short };
}

export function createEscrowActivities(deps: EscrowActivityDeps): EscrowActivities {
  const ctx = escrowContext(deps);
  const run = async <R>(leaseId: string, effect: () => WriteAheadEffect<R>, refine?: (error: unknown) => void): Promise<R> => {
    try {
      return await runWriteAhead(ctx.connection, effect(), ctx.writeAhead);
    } catch (error) {
      refine?.(error);
      return explainReclaim(ctx, leaseId, error);
    }
  };
  const close = (input: SettlePeriodInput) => run(input.leaseId, () => settlementEffect(ctx, { ...input, kind: 'close' })).then(closeRecord);

  return {
    async openEscrow(input) {
      const escrow = await run(input.leaseId, () => openEffect(ctx, input));
      const lease = await checkOpenedTerms(ctx, escrow, input).catch(asActivityFailure);
      return { address: escrow.address, deposited: escrow.deposited, fundedSeconds: Number(lease.durationSeconds) };
    },

    async settlePeriod(input) {
      try {
        if ((await findSettlement(ctx.db, input.leaseId, input.period)) === undefined && input.payouts.length === 0) {
          // Nothing to pay: a transaction only if the rolling deposit needs a top-up the allowance can pay for.
          const { escrow, lease, topUpInputs } = await openEscrowAndLease(ctx, input.leaseId, { topUpInputs: true });
          const topUp = await planSettlementTopUp(ctx, escrow, lease, input.fundSeconds, topUpInputs);
          if (topUp.extendSeconds === 0) {
            return { leaseId: input.leaseId, period: input.period, kind: 'settle', signature: '', receiptsDigest: input.receiptsDigest,
              payouts: [], gross: '0', net: '0', fee: '0', burned: '0', funding: await fundingAfter(ctx, input.leaseId, input.fundSeconds, '0') };
          }
        }
      } catch (error) {
        return asActivityFailure(error);
      }
      const found = await run(input.leaseId, () => settlementEffect(ctx, { ...input, kind: 'settle' }),
        (error) => retryAfterAllowanceRefusal(input, error));
      observeSettlementLag(ctx, input, found);
      const funding = await fundingAfter(ctx, input.leaseId, input.fundSeconds, found.settlement.top_up);
      return { ...settlementRecord(found), funding };
    },

    closeEscrow: close,

    async refundUnstartedEscrow({ leaseId, payouts = [], receiptsDigest: digest = receiptsDigest([]) }) {
      try {
        const escrow = await findEscrow(ctx.db, leaseId);
        if (escrow === undefined || escrow.status === 'reclaimed') return null;
        // The customer may have reclaimed it on-chain already: then there is nothing left to give back.
        await openEscrowAndLease(ctx, leaseId).catch((error: unknown) => {
          if (!(error instanceof EscrowReclaimedError) && escrow.status === 'open') throw error;
        });
        if ((await findEscrow(ctx.db, leaseId))?.status === 'reclaimed') return null;
        if (escrow.status === 'opening' && !(await settleOpening(ctx, leaseId))) return null;
        const planned = await findCloseSettlement(ctx.db, leaseId);
        let period = planned === undefined ? 0 : Number(planned.settlement.period);
        if (planned === undefined) {
          // After everything the ledger or the chain has seen, so the close cannot collide with a settlement.
          const onChain = await ctx.client.fetchLease(new PublicKey(escrow.address));
          period = Math.max(await lastLedgerPeriod(ctx.db, leaseId), Number(onChain?.lastPeriod ?? 0n)) + 1;
        }
        return await close({ leaseId, period, payouts, receiptsDigest: digest });
      } catch (error) {
        return asActivityFailure(error);
      }
    },
  };
}

/**
 * A failed start may find its open_lease still pending. It is never sent anew: either the pending one
 * lands (then it is recorded and refunded) or it can no longer land and the escrow row is dropped.
 * Returns whether an escrow is open.
 */
async function settleOpening(ctx: EscrowContext, leaseId: string): Promise<boolean> {
  const escrow = (await findEscrow(ctx.db, leaseId))!;
  const customerId = (await ctx.db.selectFrom('leases').select('customer_id').where('id', '=', leaseId).executeTakeFirstOrThrow()).customer_id;
  const effect = openEffect(ctx, { leaseId, customerId, deposit: escrow.deposited, maxRatePerSecond: escrow.max_rate_per_second,
    durationSeconds: Number(escrow.duration_seconds), windowSeconds: Number(escrow.window_seconds) });
  const tx = pendingTransactionOf({ signature: escrow.open_signature, transaction: escrow.open_transaction!,
    last_valid_block_height: escrow.open_last_valid_block_height! });
  for (;;) {
    const delivery = await deliver(ctx.connection, tx, ctx.writeAhead);
    if (delivery.outcome === 'confirmed' || (delivery.outcome === 'expired' && (await effect.landed()))) {
      await effect.confirm(tx);
      return true;
    }
    if (delivery.outcome !== 'rejected') {
      await deleteAbandonedOpening(ctx.db, leaseId, tx.signature);
      return false;
    }
    // Refused for now (the customer's balance): it may still land until its blockhash expires.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The halves of a write-ahead step, to stage a crash between them in tests (and for operators' tools). */
export interface EscrowSteps {
  /** Signs open_lease and writes the escrow 'opening', as openEscrow does first; sends nothing. Null if planned already. */
  prepareOpen(input: OpenEscrowInput): Promise<SignedTransaction | null>;
  /** Signs the settlement and writes it pending, as settlePeriod/closeEscrow do first; sends nothing. Null if planned already. */
  prepareSettlement(input: SettlePeriodInput, kind?: 'settle' | 'close'): Promise<SignedTransaction | null>;
  /** Sends a signed transaction until the chain answers and records nothing: a worker that died right after sending. */
  send(tx: SignedTransaction): Promise<Delivery>;
}

export function createEscrowSteps(deps: EscrowActivityDeps): EscrowSteps {
  const ctx = escrowContext(deps);
  return {
    prepareOpen: (input) => openEffect(ctx, input).signAndRecord(),
    prepareSettlement: (input, kind = 'settle') => settlementEffect(ctx, { ...input, kind }).signAndRecord(),
    send: (tx) => deliver(ctx.connection, tx, ctx.writeAhead),
  };
}
