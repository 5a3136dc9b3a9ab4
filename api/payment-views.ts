/** Ledger rows as the API shows them: base units become exact decimal token strings. */
import { formatTokenAmount } from '../domain/money';
import type { EscrowBooks, ProviderPayee, SettlementWithPayouts } from '../infra/db/repositories/escrow-ledger.repo';
import type { ProviderReliability } from '../infra/db/repositories/reliability.repo';
import type { Escrow } from '../infra/db/schema';
import type { EscrowView, ProviderView, SettlementView } from './schemas/payments.schemas';
import { toReliabilityView } from './views';

/** null while open_lease is only signed: until the chain confirms it there is no escrow to show. */
export function toEscrowView(escrow: Escrow | undefined, books: EscrowBooks | undefined): EscrowView | null {
  if (escrow === undefined || books === undefined || escrow.status === 'opening') return null;
  return {
    address: escrow.address,
    status: escrow.status,
    deposited: formatTokenAmount(books.deposited),
    paidToProviders: formatTokenAmount(books.paidToProviders),
    fees: formatTokenAmount(books.fees),
    burned: formatTokenAmount(books.burned),
    refunded: formatTokenAmount(books.refunded),
    lastPeriod: books.lastPeriod,
    fundedSeconds: Number(escrow.duration_seconds),
  };
}

export function toSettlementView({ settlement, payouts }: SettlementWithPayouts): SettlementView {
  return {
    period: Number(settlement.period),
    kind: settlement.kind,
    signature: settlement.signature,
    receiptsDigest: settlement.receipts_digest,
    gross: formatTokenAmount(settlement.gross),
    topUp: formatTokenAmount(settlement.top_up),
    fee: formatTokenAmount(settlement.fee),
    burned: formatTokenAmount(settlement.burned),
    refunded: formatTokenAmount(settlement.refunded),
    payouts: payouts.map((p) => ({
      providerId: p.provider_id,
      tokenAccount: p.token_account,
      seconds: p.seconds,
      gross: formatTokenAmount(p.gross),
      net: formatTokenAmount(p.net),
      fee: formatTokenAmount(p.fee),
      burn: formatTokenAmount(p.burn),
    })),
  };
}

export function toProviderView({ provider, earnings }: ProviderPayee, reliability: ProviderReliability): ProviderView {
  return {
    id: provider.id,
    name: provider.name,
    tier: provider.tier,
    payoutTokenAccount: provider.payout_token_account,
    earnings: {
      gross: formatTokenAmount(earnings.gross),
      net: formatTokenAmount(earnings.net),
      seconds: earnings.seconds,
      settlements: earnings.settlements,
    },
    reliability: toReliabilityView(reliability),
  };
}
