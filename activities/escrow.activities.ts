/**
 * The escrow activities (DESIGN §2 steps 2, 4, 6): the lease's money on Solana through the lease_escrow
 * program, over JSON-RPC only. Each one is a write-ahead effect (infra/solana/write-ahead.ts) keyed on its
 * natural key, so a retry after a crash at any point, even between sending a transaction and recording
 * it, confirms what was sent instead of paying again; the program's strictly increasing periods are the
 * backstop. Schedule them with a start-to-close timeout above two minutes: a transaction that never lands
 * is known dead only once its blockhash expires (about a minute), and then a fresh one is sent.
 */
import { PublicKey } from '@solana/web3.js';
import { receiptsDigest } from '../domain/billing';
import {
  deleteAbandonedOpening,
  findCloseSettlement,
  findEscrow,
  lastLedgerPeriod,
  pendingTransactionOf,
  type SettlementWithPayouts,
} from '../infra/db/repositories/escrow-ledger.repo';
import { deliver, type Delivery, type SignedTransaction } from '../infra/solana/transaction-delivery';
import { runWriteAhead, type WriteAheadEffect } from '../infra/solana/write-ahead';
import type { CloseEscrowRecord, EscrowActivities, OpenEscrowInput, SettlePeriodInput, SettlementRecord } from './contracts';
import { asActivityFailure, escrowContext, type EscrowActivityDeps, type EscrowContext } from './escrow-context';
import { checkOpenedTerms, openEffect, topUpEffect } from './escrow-deposit.effect';
import { settlementEffect } from './escrow-settlement.effect';

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

export function createEscrowActivities(deps: EscrowActivityDeps): EscrowActivities {
  const ctx = escrowContext(deps);
  const run = async <R>(effect: () => WriteAheadEffect<R>): Promise<R> => {
    try {
      return await runWriteAhead(ctx.connection, effect(), ctx.writeAhead);
    } catch (error) {
      return asActivityFailure(error);
    }
  };
  const close = (input: SettlePeriodInput) => run(() => settlementEffect(ctx, { ...input, kind: 'close' })).then(closeRecord);

  return {
    async openEscrow(input) {
      const escrow = await run(() => openEffect(ctx, input));
      await checkOpenedTerms(ctx, escrow, input).catch(asActivityFailure);
      return { address: escrow.address, deposited: escrow.deposited };
    },

    async settlePeriod(input) {
      return settlementRecord(await run(() => settlementEffect(ctx, { ...input, kind: 'settle' })));
    },

    closeEscrow: close,

    async topUpEscrow(input) {
      const topUp = await run(() => topUpEffect(ctx, input));
      const escrow = (await findEscrow(ctx.db, input.leaseId))!;
      return { signature: topUp.signature, deposited: escrow.deposited, durationSeconds: Number(escrow.duration_seconds) };
    },

    async refundUnstartedEscrow({ leaseId }) {
      try {
        const escrow = await findEscrow(ctx.db, leaseId);
        if (escrow === undefined || escrow.status === 'reclaimed') return null;
        if (escrow.status === 'opening' && !(await settleOpening(ctx, leaseId))) return null;
        const planned = await findCloseSettlement(ctx.db, leaseId);
        let period = planned === undefined ? 0 : Number(planned.settlement.period);
        if (planned === undefined) {
          // After everything the ledger or the chain has seen, so the close cannot collide with a settlement.
          const onChain = await ctx.client.fetchLease(new PublicKey(escrow.address));
          period = Math.max(await lastLedgerPeriod(ctx.db, leaseId), Number(onChain?.lastPeriod ?? 0n)) + 1;
        }
        return await close({ leaseId, period, payouts: [], receiptsDigest: receiptsDigest([]) });
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
    durationSeconds: Number(escrow.duration_seconds) });
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
