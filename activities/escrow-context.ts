/**
 * What the escrow activities share: their dependencies, the escrow program's Config (cached briefly), and
 * how a failure becomes a Temporal failure that says whether retrying can help.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Connection, Keypair, PublicKey } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, Escrow, EscrowStatus } from '../infra/db/schema';
import { findEscrow } from '../infra/db/repositories/escrow-ledger.repo';
import { EscrowClient, type EscrowConfig } from '../infra/solana/escrow-client';
import { PayoutAccountMissingError, registeredPayoutAccounts, type PayoutAccounts } from '../infra/solana/payout-accounts';
import { associatedTokenAddress } from '../infra/solana/program-address';
import { TransactionFailure } from '../infra/solana/transaction-delivery';
import type { WriteAheadOptions } from '../infra/solana/write-ahead';
import type { ControlActivityMetrics } from './activity-metrics';

export interface EscrowActivityDeps {
  db: Kysely<Database>;
  /** JSON-RPC only: the local chain node or a real cluster, the code does not know which. */
  connection: Connection;
  /**
   * Signs every escrow transaction (opens and top-ups draw on the customer's allowance through the program; no
   * customer key is ever here) and pays its fee and the accounts' rents; lives with the control workers only.
   */
  settlementAuthority: Keypair;
  /** Default: only accounts providers registered (production); the demo passes demoPayoutAccounts. */
  payoutAccounts?: PayoutAccounts;
  programId?: PublicKey;
  log?: Logger;
  /** Polling and give-up settings of the write-ahead loop. */
  writeAhead?: WriteAheadOptions;
  /** The control worker's `/metrics`: told each settlement's lag. */
  metrics?: Pick<ControlActivityMetrics, 'settlementConfirmed'>;
}

export interface EscrowContext extends EscrowActivityDeps {
  client: EscrowClient;
  payoutAccounts: PayoutAccounts;
  config(): Promise<EscrowConfig>;
  /** The customer's associated token account of the payment mint. */
  customerTokenAccount(customer: PublicKey): Promise<PublicKey>;
}

/**
 * How long a Config read is trusted; an admin's update_config is seen within this time. Only its mint and treasury
 * are used this way: a settlement's fee shares are its Lease account's, which the program fixed at open.
 */
const CONFIG_TTL_MS = 30_000;

export function escrowContext(deps: EscrowActivityDeps): EscrowContext {
  const client = new EscrowClient(deps.connection, deps.programId);
  let cached: { config: EscrowConfig; at: number } | undefined;
  const config = async () => {
    if (cached === undefined || Date.now() - cached.at > CONFIG_TTL_MS) {
      const fetched = await client.fetchConfig();
      if (fetched === null) throw new EscrowStateError(`the lease_escrow program has no config at ${client.configAddress.toBase58()}`);
      cached = { config: fetched, at: Date.now() };
    }
    return cached.config;
  };
  return {
    ...deps,
    client,
    payoutAccounts: deps.payoutAccounts ?? registeredPayoutAccounts(deps.db),
    config,
    customerTokenAccount: async (customer) => associatedTokenAddress((await config()).mint, customer, true),
  };
}

/** The ledger or the chain is in a state the request does not fit; retrying will not change it. */
export class EscrowStateError extends Error {
  override name = 'EscrowStateError';
}

/** An opened escrow whose Lease account differs from what the engine asked for, in `field`; final. */
export class EscrowTermsMismatchError extends EscrowStateError {
  override name = 'EscrowTermsMismatchError';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** The customer reclaimed the escrow itself (the program's `reclaim`): nothing more can be paid from it; final. */
export class EscrowReclaimedError extends EscrowStateError {
  override name = 'EscrowReclaimedError';
  constructor(readonly leaseId: string, readonly refunded: bigint) {
    super(`the customer reclaimed the escrow of lease ${leaseId} on-chain (${refunded} base units refunded); nothing more can be paid from it`);
  }
}

export async function requireEscrow(ctx: EscrowContext, leaseId: string, ...statuses: EscrowStatus[]): Promise<Escrow> {
  const escrow = await findEscrow(ctx.db, leaseId);
  if (escrow === undefined) throw new EscrowStateError(`lease ${leaseId} has no escrow`);
  if (!statuses.includes(escrow.status)) {
    throw new EscrowStateError(`the escrow of lease ${leaseId} is ${escrow.status}, not ${statuses.join(' or ')}`);
  }
  return escrow;
}

/** Refusals that time or a later attempt can cure; every other refusal by the program is final. */
const RETRYABLE_REFUSALS = new Set(['RateExceeded', 'BlockhashNotFound', 'AlreadyProcessed', 'InsufficientFundsForFee',
  'PreflightFailure']);

/** Rethrows as an ApplicationFailure typed by its reason; RPC and database errors stay retryable as they are. */
export function asActivityFailure(error: unknown): never {
  if (error instanceof TransactionFailure) {
    throw ApplicationFailure.create({ message: error.message, type: error.reason, details: [error.logs],
      nonRetryable: !RETRYABLE_REFUSALS.has(error.reason), cause: error });
  }
  if (error instanceof EscrowStateError || error instanceof PayoutAccountMissingError) {
    throw ApplicationFailure.create({ message: error.message, type: error.name, nonRetryable: true, cause: error });
  }
  throw error;
}
