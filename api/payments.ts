/**
 * The deposit check of POST /v1/leases and of extend (issue 4 item 7): a customer whose wallet cannot
 * cover the deposit is answered 402 before anything is created, reserved or asked of the workflow,
 * instead of a lease that fails minutes later when open_lease or top_up bounces on-chain.
 */
import type { PublicKey } from '@solana/web3.js';
import type { Logger } from 'pino';
import { formatTokenAmount } from '../domain/money';
import { customerCanCover, paymentMint, type CoverCheck } from '../infra/solana/customer-balance';
import type { PaymentsDeps } from './deps';
import { problems } from './errors';

export interface DepositCheck {
  /** Throws a 402 naming the shortfall, or a 503 when the chain does not answer. */
  (customerId: string, deposit: bigint, purpose: { what: string; consequence: string }): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** web3.js has no request timeout: an RPC that accepts and never answers would hold the request forever. */
async function withDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** No payments configured: nothing to check. */
const unchecked: DepositCheck = async () => {};

export function depositCheck(payments: PaymentsDeps | undefined, logger: Logger): DepositCheck {
  if (payments === undefined) return unchecked;
  const { connection, wallets } = payments;
  const timeoutMs = payments.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The mint is fixed in the escrow Config for good: one read serves every later check.
  let mint: PublicKey | undefined = payments.mint;

  return async (customerId, deposit, { what, consequence }) => {
    let cover: CoverCheck;
    try {
      cover = await withDeadline(timeoutMs, async () => {
        mint ??= await paymentMint(connection);
        return customerCanCover(connection, wallets, customerId, deposit, { mint });
      });
    } catch (err) {
      logger.error({ err, customerId }, 'could not read the customer balance from the chain');
      throw problems.unavailable(`the Solana RPC does not answer, so the deposit cannot be checked; ${consequence}, retry later`);
    }
    if (cover.ok) return;
    const amounts = {
      deposit: formatTokenAmount(deposit),
      balance: formatTokenAmount(cover.balance),
      shortfall: formatTokenAmount(cover.shortfall),
      wallet: cover.wallet,
    };
    if (cover.wallet === null) {
      throw problems.insufficientFunds(
        `customer ${customerId} has no Solana wallet to pay the deposit ${amounts.deposit}${what} from; ${consequence}`,
        amounts,
      );
    }
    throw problems.insufficientFunds(
      `deposit ${amounts.deposit}${what} needs ${amounts.shortfall} more than the balance ${amounts.balance} of wallet ` +
        `${cover.wallet}; ${consequence}`,
      amounts,
    );
  };
}
