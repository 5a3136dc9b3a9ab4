/** What a lease has cost so far, from its escrow's books and its settlements (`lease cost`). */
import { formatTokenAmount, parseTokenAmount } from '../../domain/money';
import type { LeaseDetailView } from '../schemas/leases.schemas';
import type { SettlementView } from '../schemas/payments.schemas';

export interface ProviderCost {
  providerId: string;
  seconds: number;
  gross: string;
  net: string;
  fee: string;
  burn: string;
}

export interface LeaseCost {
  leaseId: string;
  status: string;
  escrow: string | null;
  deposited: string;
  paidToProviders: string;
  fees: string;
  burned: string;
  refunded: string;
  /** Still in the escrow: deposited − paid − fees − burned − refunded. */
  held: string;
  settlements: number;
  providers: ProviderCost[];
}

export function leaseCost(lease: LeaseDetailView, settlements: SettlementView[]): LeaseCost {
  const units = (amount: string | undefined) => parseTokenAmount(amount ?? '0');
  const escrow = lease.escrow;
  const [deposited, paid, fees, burned, refunded] = [escrow?.deposited, escrow?.paidToProviders, escrow?.fees, escrow?.burned, escrow?.refunded].map(units);
  const byProvider = new Map<string, { seconds: number; gross: bigint; net: bigint; fee: bigint; burn: bigint }>();
  for (const settlement of settlements) {
    for (const p of settlement.payouts) {
      const sum = byProvider.get(p.providerId) ?? { seconds: 0, gross: 0n, net: 0n, fee: 0n, burn: 0n };
      sum.seconds += p.seconds;
      sum.gross += units(p.gross);
      sum.net += units(p.net);
      sum.fee += units(p.fee);
      sum.burn += units(p.burn);
      byProvider.set(p.providerId, sum);
    }
  }
  return {
    leaseId: lease.id,
    status: lease.status,
    escrow: escrow?.address ?? null,
    deposited: formatTokenAmount(deposited!),
    paidToProviders: formatTokenAmount(paid!),
    fees: formatTokenAmount(fees!),
    burned: formatTokenAmount(burned!),
    refunded: formatTokenAmount(refunded!),
    held: formatTokenAmount(deposited! - paid! - fees! - burned! - refunded!),
    settlements: settlements.length,
    providers: [...byProvider.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([providerId, s]) => ({
      providerId, seconds: s.seconds, gross: formatTokenAmount(s.gross), net: formatTokenAmount(s.net),
      fee: formatTokenAmount(s.fee), burn: formatTokenAmount(s.burn),
    })),
  };
}
