/**
 * The money invariant (DESIGN §5), read the way an outsider would: the Lease account over JSON-RPC and the
 * engine's PostgreSQL ledger must both say `paid to providers + fees + burned + refunded = deposited`,
 * exactly, and agree with each other to the base unit.
 */
import { EscrowClient, leaseAddress } from '../../infra/solana/escrow-client';
import { escrowBooks, listSettlements } from '../../infra/db/repositories/escrow-ledger.repo';
import type { TestEngine } from './engine';

export async function expectMoneyBalanced(engine: TestEngine, leaseId: string) {
  const onChain = await new EscrowClient(engine.connection).fetchLease(leaseAddress(leaseId));
  expect(onChain).not.toBeNull();
  const chain = onChain!;
  expect(chain.paidToProviders + chain.fees + chain.burned + chain.refunded).toBe(chain.deposited);
  expect(chain.status).not.toBe('open');

  const books = await escrowBooks(engine.database.db, leaseId);
  expect(books).toBeDefined();
  expect({
    deposited: BigInt(books!.deposited),
    paidToProviders: BigInt(books!.paidToProviders),
    fees: BigInt(books!.fees),
    burned: BigInt(books!.burned),
    refunded: BigInt(books!.refunded),
  }).toEqual({ deposited: chain.deposited, paidToProviders: chain.paidToProviders, fees: chain.fees, burned: chain.burned, refunded: chain.refunded });
  const settlements = await listSettlements(engine.database.db, leaseId);
  return { chain, settlements };
}

/** Seconds and gross amount each provider was paid for a lease, from the ledger. */
export function paidByProvider(settlements: Awaited<ReturnType<typeof listSettlements>>): Map<string, { seconds: number; gross: bigint }> {
  const byProvider = new Map<string, { seconds: number; gross: bigint }>();
  for (const settlement of settlements) {
    for (const payout of settlement.payouts) {
      const sum = byProvider.get(payout.provider_id) ?? { seconds: 0, gross: 0n };
      sum.seconds += payout.seconds;
      sum.gross += BigInt(payout.gross);
      byProvider.set(payout.provider_id, sum);
    }
  }
  return byProvider;
}
