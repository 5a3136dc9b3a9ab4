/**
 * Leases the escrow tests open on an EscrowWorld: fixed ones funded whole at open, and open-ended ones on the
 * rolling deposit with a settle helper that waits for each period's end on the chain's clock. Shared by
 * escrow-lifecycle.test.ts and escrow-rolling.test.ts so both speak of the same rates, periods and windows.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { Connection } from '@solana/web3.js';
import { depositForSeconds, fundedSpanSeconds, fundingTarget, openingDepositOf, programWindowSeconds } from '../../../domain/rolling-deposit';
import { maxRatePerSecond, receiptsDigest } from '../../../domain/billing';
import {
  fundedCustomer,
  leaseOnChain,
  leaseRow,
  payoutAccountOf,
  providers,
  tokenBalance,
  untilChainTime,
  type EscrowWorld,
} from './escrow-world';

export const MAX_PRICE = 100_000_000n; // 100 tokens per GPU-hour: the rate cap leaves room to settle seconds after opening
export const RATE = maxRatePerSecond(MAX_PRICE, 1); // 27,778 base units a second for one GPU
export const TOKENS = 2_000_000_000n;
/** The rolling deposit of these tests: 2-s periods, K = 2, so the escrow holds 6 s ahead and may reach 8 s ahead. */
export const PERIOD = 2;
export const SPAN = fundedSpanSeconds(PERIOD, 2);
export const WINDOW = programWindowSeconds(PERIOD, 2);

/** A period's receipts digest: any 32 bytes that differ per period (the program stores what it is given). */
export const digestOf = (period: number): string =>
  receiptsDigest([1, 2, 3].map((i) => bytesToHex(sha256(utf8ToBytes(`receipt ${period}.${i}`)))));

/** A fixed lease funded whole at open (its duration within the window), as before rolling deposits. */
export async function openLease(world: EscrowWorld, gpuCount: number, durationSeconds: number, tokens = TOKENS) {
  const customer = await fundedCustomer(world, tokens);
  const leaseId = await leaseRow(world, customer.customerId, gpuCount, MAX_PRICE, durationSeconds);
  const rate = maxRatePerSecond(MAX_PRICE, gpuCount);
  const deposit = depositForSeconds(rate, durationSeconds);
  const input = { leaseId, customerId: customer.customerId, deposit: deposit.toString(), maxRatePerSecond: rate.toString(), durationSeconds,
    windowSeconds: durationSeconds };
  const opened = await world.activities.openEscrow(input);
  return { ...customer, leaseId, deposit, input, opened };
}

/** An open-ended lease of one GPU on the rolling deposit: the escrow holds SPAN seconds at open. */
export async function openRolling(world: EscrowWorld, p: { tokens?: bigint; allowance?: bigint } = {}) {
  const customer = await fundedCustomer(world, p.tokens ?? TOKENS, p.allowance ?? p.tokens ?? TOKENS);
  const leaseId = await leaseRow(world, customer.customerId, 1, MAX_PRICE, null);
  const { seconds, deposit } = openingDepositOf({ maxRatePerSecond: RATE, periodSeconds: PERIOD, windowPeriods: 2, durationSeconds: null });
  const input = { leaseId, customerId: customer.customerId, deposit: deposit.toString(), maxRatePerSecond: RATE.toString(), durationSeconds: seconds,
    windowSeconds: WINDOW };
  const opened = await world.activities.openEscrow(input);
  const start = (await leaseOnChain(world, leaseId)).startTime;
  const [provider] = (await providers(world, 1)) as [string];
  /** Period `period` of the lease, settled once its end is on the chain's clock, topping up towards the rolling target. */
  const settle = async (period: number, gross: bigint | null, fundSeconds = fundingTarget(period * PERIOD, SPAN, null)) => {
    await untilChainTime(world, start + BigInt(period * PERIOD));
    const payouts = gross === null ? [] : [{ providerId: provider, amount: gross.toString(), seconds: PERIOD }];
    return world.activities.settlePeriod({ leaseId, period, payouts, receiptsDigest: digestOf(period), fundSeconds });
  };
  const paid = async () => tokenBalance(world, (await payoutAccountOf(world, provider))!);
  return { ...customer, leaseId, deposit, input, opened, provider, settle, paid };
}

/** A connection to the world's chain node that notes the JSON-RPC method of every request it sends. */
export function countingConnection(world: EscrowWorld, methods: string[]): Connection {
  return new Connection(world.connection.rpcEndpoint, {
    commitment: 'confirmed',
    fetch: (input, init) => {
      const body = JSON.parse(String(init?.body)) as { method: string } | { method: string }[];
      methods.push(...[body].flat().map((request) => request.method));
      return fetch(input, init);
    },
  });
}
