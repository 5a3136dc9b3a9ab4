/**
 * The customer's money as the API sees it (issue 8 item 1): its registered wallet and the allowance it approved for
 * the escrow program. POST /v1/leases answers 402 naming the shortfall before anything is reserved when the
 * allowance (or the balance behind it) cannot fund the lease's opening deposit, instead of a lease that fails
 * later when open_lease bounces on-chain. Reads only, over JSON-RPC: the API holds no key of anyone's.
 */
import { PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { formatTokenAmount } from '../domain/money';
import { findCustomerWallet } from '../infra/db/repositories/customers.repo';
import type { Database } from '../infra/db/schema';
import { paymentMint, readAllowance, type Allowance } from '../infra/solana/allowance';
import type { PaymentsDeps } from './deps';
import { problems } from './errors';

export interface DepositCheck {
  /** Throws a 402 naming the shortfall, or a 503 when the chain does not answer. */
  (customerId: string, deposit: bigint, purpose: { what: string; consequence: string }): Promise<void>;
}

export interface AllowanceReader {
  /** The wallet's allowance as the chain has it now; throws a 503 problem when the chain does not answer. */
  (wallet: PublicKey, consequence: string): Promise<Allowance>;
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

export function allowanceReader(payments: PaymentsDeps, logger: Logger): AllowanceReader {
  const { connection, programId } = payments;
  const timeoutMs = payments.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The mint is fixed in the escrow Config for good: one read serves every later check.
  let mint: PublicKey | undefined = payments.mint;
  return async (wallet, consequence) => {
    try {
      return await withDeadline(timeoutMs, async () => {
        mint ??= await paymentMint(connection, programId);
        return readAllowance(connection, { wallet, mint, programId });
      });
    } catch (err) {
      logger.error({ err, wallet: wallet.toBase58() }, 'could not read the customer allowance from the chain');
      throw problems.unavailable(`the Solana RPC does not answer, so the allowance cannot be checked; ${consequence}, retry later`);
    }
  };
}

/** No payments configured: nothing to check. */
const unchecked: DepositCheck = async () => {};

export function depositCheck(db: Kysely<Database>, payments: PaymentsDeps | undefined, logger: Logger): DepositCheck {
  if (payments === undefined) return unchecked;
  const read = allowanceReader(payments, logger);

  return async (customerId, deposit, { what, consequence }) => {
    const registered = await findCustomerWallet(db, customerId);
    if (registered === null) {
      throw problems.insufficientFunds(
        `customer ${customerId} has no registered wallet to fund the deposit ${formatTokenAmount(deposit)}${what} from: ` +
          `register one with POST /v1/wallet and approve an allowance; ${consequence}`,
        { deposit: formatTokenAmount(deposit), allowance: '0', balance: '0', shortfall: formatTokenAmount(deposit), wallet: null },
      );
    }
    const allowance = await read(new PublicKey(registered), consequence);
    if (allowance.spendable >= deposit) return;
    const amounts = {
      deposit: formatTokenAmount(deposit),
      allowance: formatTokenAmount(allowance.allowance),
      balance: formatTokenAmount(allowance.balance),
      shortfall: formatTokenAmount(deposit - allowance.spendable),
      wallet: registered,
    };
    const limit = !allowance.approved
      ? `wallet ${registered} has not approved the allowance delegate ${allowance.delegate.toBase58()}`
      : allowance.allowance <= allowance.balance
        ? `the allowance left is ${amounts.allowance}`
        : `wallet ${registered} holds only ${amounts.balance}`;
    throw problems.insufficientFunds(
      `deposit ${amounts.deposit}${what} needs ${amounts.shortfall} more than the engine may draw: ${limit}; ${consequence}`,
      amounts,
    );
  };
}
