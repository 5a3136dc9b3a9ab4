/**
 * A customer's own way back to its money, with nothing but a Solana JSON-RPC endpoint and its key
 * (DESIGN §8: customers never need the engine to get their money back):
 *
 *   npx tsx scripts/reclaim.ts --rpc-url <url> --keypair <customer keypair json> --lease <leaseId>
 *
 * Sends lease_escrow's `reclaim`, which the program accepts from the lease's customer alone once the lease's
 * start + duration + grace has passed and nobody closed it. Prints the refund (the customer's token balance
 * delta) and the Lease account's final figures as JSON; a refusal names the program's error and exits 1.
 */
import { Command } from 'commander';
import { createAssociatedTokenAccountIdempotentInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Connection, PublicKey, type TransactionInstruction } from '@solana/web3.js';
import { formatTokenAmount } from '../domain/money';
import { readKeypair } from '../infra/solana/chain-node/keypair-file';
import { EscrowClient, LEASE_ESCROW_IDL, LEASE_ESCROW_PROGRAM_ID, type EscrowLease } from '../infra/solana/escrow-client';
import { deliver, signTransaction } from '../infra/solana/transaction-delivery';

interface Options {
  rpcUrl: string;
  keypair: string;
  lease: string;
  programId?: string;
}

class ReclaimRefused extends Error {}

async function tokenBalance(connection: Connection, account: PublicKey): Promise<bigint> {
  if ((await connection.getAccountInfo(account)) === null) return 0n;
  return BigInt((await connection.getTokenAccountBalance(account)).value.amount);
}

function figures(lease: EscrowLease) {
  const amount = (units: bigint) => formatTokenAmount(units);
  return {
    status: lease.status,
    deposited: amount(lease.deposited),
    paidToProviders: amount(lease.paidToProviders),
    fees: amount(lease.fees),
    burned: amount(lease.burned),
    refunded: amount(lease.refunded),
    lastPeriod: Number(lease.lastPeriod),
    reclaimableFrom: new Date(Number(lease.startTime + lease.durationSeconds + lease.reclaimGraceSeconds) * 1000).toISOString(),
  };
}

export async function reclaim(options: Options) {
  const connection = new Connection(options.rpcUrl, 'confirmed');
  const client = new EscrowClient(connection, options.programId ? new PublicKey(options.programId) : LEASE_ESCROW_PROGRAM_ID);
  const customer = readKeypair(options.keypair);
  const address = client.leaseAddress(options.lease);
  const before = await client.fetchLease(address);
  if (before === null) {
    throw new ReclaimRefused(`no Lease account ${address.toBase58()} for lease ${options.lease} at ${options.rpcUrl}: its escrow was never opened`);
  }

  if (!before.customer.equals(customer.publicKey)) {
    // The program would answer NotCustomer; said here, before a stranger's wallet pays a fee for it.
    throw new ReclaimRefused(`NotCustomer: ${customer.publicKey.toBase58()} is not the customer of lease ${options.lease}; ` +
      `only ${before.customer.toBase58()} can reclaim it`);
  }
  const customerToken = getAssociatedTokenAddressSync(before.mint, customer.publicKey, true);
  const instructions: TransactionInstruction[] = [];
  // The refund needs a token account of the mint; a customer that closed its own gets a new one.
  if ((await connection.getAccountInfo(customerToken)) === null) {
    instructions.push(createAssociatedTokenAccountIdempotentInstruction(customer.publicKey, customerToken, customer.publicKey, before.mint));
  }
  instructions.push(await client.reclaim({ customer: customer.publicKey, lease: address, customerToken }));

  const balanceBefore = await tokenBalance(connection, customerToken);
  const delivery = await deliver(connection, await signTransaction(connection, customer, instructions));
  if (delivery.outcome === 'expired') throw new ReclaimRefused('the reclaim transaction expired before it landed; nothing moved, run it again');
  if (delivery.outcome !== 'confirmed') {
    const { reason, message } = delivery.failure;
    // The program's own words for its errors; the node's for anything else (no SOL for the fee, …).
    const why = LEASE_ESCROW_IDL.errors?.find((e) => e.name === reason)?.msg ?? message;
    throw new ReclaimRefused(`lease_escrow refused reclaim: ${reason} (${why}). ` +
      `Lease ${address.toBase58()} is ${before.status}, customer ${before.customer.toBase58()}, ` +
      `reclaimable from ${figures(before).reclaimableFrom}; nothing moved`);
  }

  const after = (await client.fetchLease(address))!;
  const refunded = (await tokenBalance(connection, customerToken)) - balanceBefore;
  return {
    leaseId: options.lease,
    lease: address.toBase58(),
    customer: customer.publicKey.toBase58(),
    customerToken: customerToken.toBase58(),
    refunded: formatTokenAmount(refunded),
    refundedBaseUnits: refunded.toString(),
    account: figures(after),
    // The money invariant, as the chain now has it.
    balanced: after.paidToProviders + after.fees + after.burned + after.refunded === after.deposited,
  };
}

if (require.main === module) {
  new Command('reclaim')
    .description('Take back the unspent deposit of an expired lease nobody closed (lease_escrow `reclaim`)')
    .requiredOption('--rpc-url <url>', 'Solana JSON-RPC endpoint')
    .requiredOption('--keypair <file>', "the lease customer's keypair (Solana CLI JSON)")
    .requiredOption('--lease <leaseId>', 'the lease UUID')
    .option('--program-id <address>', 'lease_escrow program id', LEASE_ESCROW_PROGRAM_ID.toBase58())
    .showHelpAfterError()
    .action(async (options: Options) => {
      console.log(JSON.stringify(await reclaim(options), null, 2));
    })
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      // A refusal is an answer, not a crash: its words, no stack.
      console.error(err instanceof ReclaimRefused ? err.message : err instanceof Error ? `reclaim failed: ${err.message}` : err);
      process.exitCode = 1;
    });
}
