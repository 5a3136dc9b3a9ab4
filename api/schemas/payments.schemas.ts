/**
 * The money side of a lease as the API shows it: its escrow's books, its settlements, a provider's
 * earnings, and the 402 a deposit the wallet cannot cover gets. Amounts are exact decimal strings of the
 * payment token (6 decimals, "12.5"), read from the PostgreSQL ledger, which records only what the chain
 * confirmed.
 */
import { z } from '../zod';
import { Problem } from './common.schemas';
import { ReliabilityView } from './reliability.schemas';

const Amount = z.string().regex(/^\d+(\.\d{1,6})?$/).openapi({ description: 'Payment token, exact decimal (6 decimals at most)', example: '12.5' });
const Base58 = z.string().openapi({ description: 'Solana address, base58' });

export const EscrowView = z
  .object({
    address: Base58.openapi({
      description: 'The Lease account (PDA ["lease", lease id as 16 bytes] of lease_escrow): where `reclaim` is called',
    }),
    status: z.enum(['open', 'closed', 'reclaimed']),
    deposited: Amount.openapi({ description: 'Everything drawn from the allowance so far: the opening deposit and every top-up' }),
    paidToProviders: Amount,
    fees: Amount.openapi({ description: 'The treasury’s share of the fees (the burned share is `burned`)' }),
    burned: Amount,
    refunded: Amount,
    lastPeriod: z.int().openapi({ description: 'Last settled period, 0 before the first settlement' }),
    fundedSeconds: z.int().openapi({
      description: 'Seconds of the lease the rolling deposit has bought so far: the current period and the next K at the price cap, '
        + 'topped up from the allowance with each settlement',
    }),
  })
  .openapi('Escrow', { description: 'paidToProviders + fees + burned + refunded = deposited once the lease is closed' });
export type EscrowView = z.infer<typeof EscrowView>;

export const PayoutView = z
  .object({
    providerId: z.string(),
    tokenAccount: Base58,
    seconds: z.int().openapi({ description: 'Verified GPU-seconds paid in this settlement' }),
    gross: Amount,
    net: Amount.openapi({ description: 'What the provider received: gross − fee − burn' }),
    fee: Amount,
    burn: Amount,
  })
  .openapi('Payout');

export const SettlementView = z
  .object({
    period: z.int(),
    kind: z.enum(['settle', 'close']),
    signature: z.string().openapi({ description: 'The confirmed transaction' }),
    receiptsDigest: z.string().openapi({ description: 'Hex digest of the period’s proof receipts, stored on-chain' }),
    gross: Amount,
    topUp: Amount.openapi({ description: 'The rolling deposit’s top-up drawn from the allowance in the same transaction' }),
    fee: Amount.openapi({ description: 'To the treasury' }),
    burned: Amount,
    refunded: Amount.openapi({ description: 'To the customer (a close only)' }),
    payouts: z.array(PayoutView),
  })
  .openapi('Settlement');
export type SettlementView = z.infer<typeof SettlementView>;

export const ProviderView = z
  .object({
    id: z.string(),
    name: z.string(),
    tier: z.int(),
    payoutTokenAccount: Base58.nullable().openapi({ description: 'Token account its payouts go to; null until registered' }),
    earnings: z.object({
      gross: Amount,
      net: Amount,
      seconds: z.int().openapi({ description: 'GPU-seconds paid' }),
      settlements: z.int().openapi({ description: 'Confirmed settlements that paid it' }),
    }),
    reliability: ReliabilityView,
  })
  .openapi('Provider');
export type ProviderView = z.infer<typeof ProviderView>;

export const ProviderIdParams = z.object({
  id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' } }),
});

export const InsufficientFundsProblem = Problem.extend({
  deposit: Amount.openapi({ description: 'What the escrow needs: max price × GPUs × seconds, rounded up' }),
  balance: Amount.openapi({ description: 'The wallet’s balance of the payment token' }),
  shortfall: Amount,
  wallet: Base58.nullable().openapi({ description: 'The wallet checked; null when the customer has none' }),
}).openapi('InsufficientFundsProblem');
