/** The customer's wallet and allowance (issue 8 item 1): POST /v1/wallet registers, GET /v1/wallet shows. */
import { z } from '../zod';

const Amount = z.string().openapi({ description: 'Payment token, exact decimal', example: '250' });

export const RegisterWalletRequest = z
  .strictObject({
    address: z.string().min(32).max(44).regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a base58 Solana address')
      .openapi({ description: 'The customer’s wallet (its public key), base58' }),
    signature: z.string().min(64).max(90).regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a base58 ed25519 signature')
      .openapi({
        description: 'The wallet’s signature (base58) of the line `registrationMessage` of GET /v1/wallet, signed as raw bytes '
          + '(a wallet’s signMessage) or as an off-chain message (`solana sign-offchain-message`)',
      }),
  })
  .openapi('RegisterWalletRequest');

export const WalletView = z
  .object({
    address: z.string().nullable().openapi({ description: 'The registered wallet; null until one is registered' }),
    registrationMessage: z.string().nullable().openapi({
      description: 'The line to sign to register `address` (for the registered wallet; with ?address= for another)',
    }),
    tokenAccount: z.string().nullable().openapi({ description: 'The wallet’s token account of the payment mint: deposits come from it, refunds go to it' }),
    allowanceDelegate: z.string().nullable().openapi({
      description: 'What to approve as delegate on tokenAccount (the escrow program’s PDA ["allowance", wallet]); only the '
        + 'program can sign as it, only for this customer’s own leases',
    }),
    approved: z.boolean().openapi({ description: 'Whether tokenAccount’s delegate is allowanceDelegate now' }),
    allowance: Amount.openapi({ description: 'What the delegate may still move (0 unless approved)' }),
    balance: Amount,
    spendable: Amount.openapi({ description: 'What the engine can draw now: the smaller of allowance and balance' }),
    approveWith: z.string().nullable().openapi({ description: 'The Solana CLI command that approves an allowance (amount in tokens)' }),
    revokeWith: z.string().nullable(),
  })
  .openapi('Wallet');
export type WalletView = z.infer<typeof WalletView>;

export const WalletQuery = z.object({
  address: z.string().min(32).max(44).regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a base58 Solana address').optional()
    .openapi({ description: 'Show the registration line for this wallet instead of the registered one' }),
});
