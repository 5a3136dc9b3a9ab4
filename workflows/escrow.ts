/**
 * The lease's money (DESIGN §2 steps 2, 4, 6): a rolling deposit is locked from the customer's allowance after
 * reservation, each period's verified seconds are paid in one settlement that also tops the deposit up for the
 * next window, and the close pays the last period and refunds the rest to the second. Every activity here is
 * idempotent on (lease, period), so a retry after a crash never pays twice; the amounts come from the pure billing
 * and rolling-deposit functions, from cumulative verified seconds.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { EscrowActivities, EscrowFunding, ProviderPayout } from '../activities/contracts';
import { CONTROL_TASK_QUEUE } from '../activities/contracts';
import { maxRatePerSecond, periodPayouts } from '../domain/billing';
import { fundedSpanSeconds, fundingTarget, openingDepositOf, programWindowSeconds } from '../domain/rolling-deposit';
import type { AssignmentState, EscrowState, LeaseState } from './lease-state';
import type { LeaseWorkflowInput } from './messages';

const escrow = proxyActivities<EscrowActivities>({
  taskQueue: CONTROL_TASK_QUEUE,
  // A transaction that never lands is only known dead once its blockhash expires (about a minute).
  startToCloseTimeout: '3m',
  // The worker heartbeats while it waits on the chain: a killed worker's attempt is retried within seconds.
  heartbeatTimeout: '15s',
  retry: { initialInterval: '500ms', maximumInterval: '15s', backoffCoefficient: 2 },
});

export async function openEscrow(input: LeaseWorkflowInput, state: LeaseState, account: EscrowState): Promise<void> {
  const { settlementPeriodSeconds: periodSeconds, depositWindowPeriods: windowPeriods } = input.timings;
  const rate = maxRatePerSecond(BigInt(input.spec.maxPricePerGpuHour), input.spec.gpuCount);
  const opening = openingDepositOf({ maxRatePerSecond: rate, periodSeconds, windowPeriods, durationSeconds: state.durationSeconds });
  const opened = await escrow.openEscrow({
    leaseId: input.leaseId,
    customerId: input.customerId,
    deposit: opening.deposit.toString(),
    maxRatePerSecond: rate.toString(),
    durationSeconds: opening.seconds,
    windowSeconds: programWindowSeconds(periodSeconds, windowPeriods),
  });
  account.address = opened.address;
  account.fundedSeconds = opened.fundedSeconds;
}

/**
 * A start that failed after the deposit was locked gives it back: all of it, or (given the bill of what its hosts
 * proved before the start was given up) all but what that bill pays.
 */
export async function refundUnstarted(input: LeaseWorkflowInput, bill?: PeriodBill): Promise<void> {
  await escrow.refundUnstartedEscrow(bill ? { leaseId: input.leaseId, payouts: bill.payouts, receiptsDigest: bill.receiptsDigest } : { leaseId: input.leaseId });
  bill?.apply();
}

export function track(account: EscrowState, assignment: AssignmentState): void {
  account.billing[assignment.assignmentId] ??= {
    assignmentId: assignment.assignmentId,
    providerId: assignment.gpu.providerId,
    pricePerGpuHour: assignment.gpu.pricePerGpuHour,
    verifiedSeconds: 0,
    billedSeconds: 0,
    billed: '0',
  };
}

export function recordVerified(account: EscrowState, assignmentId: string, verifiedSeconds: number): void {
  const line = account.billing[assignmentId];
  if (line) line.verifiedSeconds = Math.max(line.verifiedSeconds, verifiedSeconds);
}

export interface PeriodBill {
  payouts: ProviderPayout[];
  receiptsDigest: string;
  apply(): void;
}

/**
 * What the escrow holds that is not billed yet: the funded seconds at the lease's max rate (what the open and every
 * top-up deposited) less every amount billed so far. The program refuses to pay past it (DepositExceeded).
 */
export function escrowAvailable(input: LeaseWorkflowInput, account: EscrowState): bigint {
  const deposited = maxRatePerSecond(BigInt(input.spec.maxPricePerGpuHour), input.spec.gpuCount) * BigInt(account.fundedSeconds);
  return Object.values(account.billing).reduce((left, line) => left - BigInt(line.billed), deposited);
}

/**
 * What the period owes each provider, within what the escrow holds (the rest waits for a top-up), and how to mark it
 * billed once the chain has it.
 */
export function billPeriod(input: LeaseWorkflowInput, account: EscrowState, periodReceiptsDigest: string): PeriodBill {
  const bill = periodPayouts(Object.values(account.billing), escrowAvailable(input, account));
  return {
    payouts: bill.payouts,
    receiptsDigest: periodReceiptsDigest,
    apply: () => {
      for (const line of Object.values(account.billing)) {
        line.billed = bill.billed[line.assignmentId] ?? line.billed;
        line.billedSeconds = bill.billedSeconds[line.assignmentId] ?? line.billedSeconds;
      }
    },
  };
}

/**
 * The period's settlement, topping the rolling deposit up to K + 1 periods past `periodEndsAt` (never past a fixed
 * duration) in the same transaction; nothing to pay and nothing to top up, no transaction. Returns where the
 * deposit stands.
 */
export async function settle(input: LeaseWorkflowInput, state: LeaseState, bill: PeriodBill, periodEndsAt: number): Promise<EscrowFunding> {
  const account = state.escrow;
  const { settlementPeriodSeconds: periodSeconds, depositWindowPeriods: windowPeriods } = input.timings;
  const elapsed = Math.max(0, Math.round((periodEndsAt - (state.startedAt ?? periodEndsAt)) / 1000));
  const fundSeconds = fundingTarget(elapsed, fundedSpanSeconds(periodSeconds, windowPeriods), state.durationSeconds);
  const record = await escrow.settlePeriod({ leaseId: input.leaseId, period: account.settlements + 1, payouts: bill.payouts,
    receiptsDigest: bill.receiptsDigest, fundSeconds, periodEndsAt });
  if (record.signature !== '') {
    account.settlements++;
    bill.apply();
  }
  const funding = record.funding!;
  account.fundedSeconds = Math.max(account.fundedSeconds, funding.fundedSeconds);
  return funding;
}

/** The last period's payouts and the refund of the rest of the deposit, in one transaction. */
export async function closeEscrow(input: LeaseWorkflowInput, account: EscrowState, bill: PeriodBill): Promise<void> {
  await escrow.closeEscrow({ leaseId: input.leaseId, period: account.settlements + 1, payouts: bill.payouts, receiptsDigest: bill.receiptsDigest });
  account.settlements++;
  bill.apply();
}
