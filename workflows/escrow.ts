/**
 * The lease's money (DESIGN §2 steps 2, 4, 6): the deposit is locked after reservation, each period's
 * verified seconds are paid in one settlement, the close pays the last period and refunds the rest to the
 * second. Every activity here is idempotent on (lease, period) or (lease, top-up), so a retry after a crash
 * never pays twice; the amounts come from the pure billing functions, from cumulative verified seconds.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { EscrowActivities, ProviderPayout, SettlePeriodInput } from '../activities/contracts';
import { CONTROL_TASK_QUEUE } from '../activities/contracts';
import { maxRatePerSecond, periodPayouts } from '../domain/billing';
import { depositFor } from '../domain/money';
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
  const cap = BigInt(input.spec.maxPricePerGpuHour);
  const opened = await escrow.openEscrow({
    leaseId: input.leaseId,
    customerId: input.customerId,
    deposit: depositFor(cap, input.spec.gpuCount, state.durationSeconds).toString(),
    maxRatePerSecond: maxRatePerSecond(cap, input.spec.gpuCount).toString(),
    durationSeconds: state.durationSeconds,
  });
  account.address = opened.address;
}

/** A start that failed after the deposit was locked gives all of it back. */
export async function refundUnstarted(input: LeaseWorkflowInput): Promise<void> {
  await escrow.refundUnstartedEscrow({ leaseId: input.leaseId });
}

/** An extension pays for its seconds at the cap before the lease's end moves. */
export async function topUp(input: LeaseWorkflowInput, account: EscrowState, seconds: number): Promise<void> {
  await escrow.topUpEscrow({
    leaseId: input.leaseId,
    topUpId: `extend-${++account.topUps}`,
    amount: depositFor(BigInt(input.spec.maxPricePerGpuHour), input.spec.gpuCount, seconds).toString(),
    extendSeconds: seconds,
  });
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

/** What the period owes each provider, and how to mark it billed once the chain has it. */
export function billPeriod(account: EscrowState, periodReceiptsDigest: string): PeriodBill {
  const bill = periodPayouts(Object.values(account.billing));
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

/** One settlement transaction for the period; nothing to pay, no transaction. */
export async function settle(input: LeaseWorkflowInput, account: EscrowState, bill: PeriodBill): Promise<void> {
  if (bill.payouts.length > 0) await send(input, account, bill, escrow.settlePeriod);
}

/** The last period's payouts and the refund of the rest of the deposit, in one transaction. */
export async function closeEscrow(input: LeaseWorkflowInput, account: EscrowState, bill: PeriodBill): Promise<void> {
  await send(input, account, bill, escrow.closeEscrow);
}

/** Each settlement, the close included, takes the next on-chain period; the bill counts as paid once it landed. */
async function send(
  input: LeaseWorkflowInput,
  account: EscrowState,
  bill: PeriodBill,
  activity: (request: SettlePeriodInput) => Promise<unknown>,
): Promise<void> {
  await activity({ leaseId: input.leaseId, period: account.settlements + 1, payouts: bill.payouts, receiptsDigest: bill.receiptsDigest });
  account.settlements++;
  bill.apply();
}
