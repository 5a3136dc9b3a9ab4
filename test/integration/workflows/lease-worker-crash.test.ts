/**
 * The control worker dies between sending a settlement and recording it: a real worker *process*, SIGKILLed
 * by its test-only crash point (infra/failpoints.ts) after its 2nd settlement transaction landed on the chain
 * and before the ledger row left 'pending'. A new worker process picks the lease up: it finds the pending
 * row, sees its signature on the chain and records it without sending anything new, and the lease goes on
 * settling until it is cancelled. Every period is paid exactly once and the money balances to the base unit.
 */
import type { ChildProcess } from 'node:child_process';
import { listSettlements } from '../../../infra/db/repositories/escrow-ledger.repo';
import { EscrowClient, leaseAddress } from '../../../infra/solana/escrow-client';
import type { TestEngine } from '../../support/engine';
import { DEMO_IMAGE, SLEEP_FOREVER, startEngine, waitFor } from '../../support/engine';
import { expectMoneyBalanced, paidByProvider } from '../../support/money';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startEngine({
    controlWorker: 'process',
    controlWorkerEnv: { LEASE_ENGINE_FAILPOINTS: 'after-settlement-sent=2' },
    settlementPeriodSeconds: 5,
    hosts: [{ hostId: 'wc-host', provider: 'wc-atlas', tier: 1, gpus: 'A100:80:2.00x2' }],
  });
}, 240_000);
afterAll(async () => engine?.stop(), 60_000);

interface AssignmentView { assignmentId: string; providerId: string; verifiedSeconds: number }

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const onChainLease = (leaseId: string) => new EscrowClient(engine.connection).fetchLease(leaseAddress(leaseId));

/** The lease's status and ledger, for a failure message. */
async function whereIs(leaseId: string): Promise<string> {
  const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body as { status?: string; endReason?: string };
  const rows = (await ledgerRows(leaseId)).map((s) => `${s.period}:${s.kind}:${s.status}`);
  return `lease ${lease.status ?? '?'}${lease.endReason ? ` (${lease.endReason})` : ''}, ledger [${rows.join(', ')}]`;
}

/** Every ledger row of the lease, pending ones too (listSettlements shows the confirmed ones only). */
const ledgerRows = (leaseId: string) =>
  engine.database.db.selectFrom('settlements').selectAll().where('lease_id', '=', leaseId).orderBy('period').orderBy('created_at').execute();

test('a control worker killed after a settlement landed but before it was recorded: the lease carries on and pays each period once', async () => {
  const created = await engine.request('POST', '/v1/leases', {
    gpuModel: 'A100', gpuCount: 2, minTier: 1, maxPricePerGpuHour: '5', durationSeconds: 900, image: DEMO_IMAGE, command: SLEEP_FOREVER,
  });
  expect(created.status).toBe(201);
  const leaseId = created.body.id as string;
  const db = engine.database.db;

  await waitFor(async () => (await engine.request('GET', `/v1/leases/${leaseId}`)).body.status === 'running', 60_000, 'lease running');

  // The crash point fires inside the settlement of period 2: the process dies by SIGKILL, nothing graceful.
  const exited = exitOf(engine.controlWorkerProcess()!);
  let died = false;
  void exited.then(() => (died = true));
  await waitFor(async () => died, 90_000, 'the control worker killed by its crash point').catch(async (error: Error) => {
    throw new Error(`${error.message}; ${await whereIs(leaseId)}`);
  });
  const exit = await exited;
  expect(exit).toEqual({ code: null, signal: 'SIGKILL' });

  // Sent but not recorded: period 2 is pending in the ledger, and its very transaction is on the chain.
  const atCrash = await ledgerRows(leaseId);
  expect(atCrash.map((s) => [Number(s.period), s.kind, s.status])).toEqual([[1, 'settle', 'confirmed'], [2, 'settle', 'pending']]);
  const pending = atCrash[1]!;
  const { value: [status] } = await engine.connection.getSignatureStatuses([pending.signature], { searchTransactionHistory: true });
  expect(status?.err).toBeNull();
  expect(['confirmed', 'finalized']).toContain(status?.confirmationStatus);
  expect((await onChainLease(leaseId))?.lastPeriod).toBe(2n);

  // A new worker, without the crash point. The dead attempt is retried once its start-to-close timeout (3 min,
  // workflows/escrow.ts) expires: nothing tells Temporal sooner that the worker running it is gone.
  await engine.restartControlWorker();
  await waitFor(async () => (await listSettlements(db, leaseId)).length >= 4, 300_000, 'periods 2 to 4 settled after the restart')
    .catch(async (error: Error) => {
      throw new Error(`${error.message}; ${await whereIs(leaseId)}`);
    });
  const recorded = (await ledgerRows(leaseId)).find((s) => Number(s.period) === 2)!;
  // Recorded as what was sent: the same signature, no second transaction for period 2.
  expect(recorded).toMatchObject({ status: 'confirmed', signature: pending.signature, gross: pending.gross });

  const cancelled = await engine.request('POST', `/v1/leases/${leaseId}/cancel`);
  expect([200, 202]).toContain(cancelled.status);
  const ended = await waitFor(async () => {
    const lease = (await engine.request('GET', `/v1/leases/${leaseId}`)).body;
    return lease.status === 'cancelled' && lease;
  }, 60_000, 'cancelled');

  const { chain, settlements } = await expectMoneyBalanced(engine, leaseId);
  // One confirmed row per period, 1..N without gaps, the close last; the chain saw the same last period.
  const periods = settlements.map((s) => Number(s.settlement.period));
  expect(periods).toEqual(Array.from({ length: periods.length }, (_, i) => i + 1));
  expect(periods.length).toBeGreaterThanOrEqual(5);
  // Every row the ledger holds is confirmed: nothing left pending, no second row for any period.
  expect((await ledgerRows(leaseId)).map((s) => [Number(s.period), s.status])).toEqual(periods.map((p) => [p, 'confirmed']));
  expect(settlements.map((s) => s.settlement.kind)).toEqual([...Array<string>(periods.length - 1).fill('settle'), 'close']);
  expect(chain.lastPeriod).toBe(BigInt(periods.length));
  expect(new Set(settlements.map((s) => s.settlement.signature)).size).toBe(settlements.length);
  // No period paid twice: everything the ledger says it paid out is exactly what left the vault to be paid out.
  const grossInLedger = settlements.flatMap((s) => s.payouts).reduce((sum, p) => sum + BigInt(p.gross), 0n);
  expect(grossInLedger).toBe(chain.paidToProviders + chain.fees + chain.burned);
  expect(chain.paidToProviders + chain.fees + chain.burned + chain.refunded).toBe(chain.deposited);

  // The provider is paid exactly its assignments' verified seconds.
  const assignments = ended.assignments as AssignmentView[];
  expect(assignments).toHaveLength(2);
  const provider = assignments[0]!.providerId;
  expect(assignments.every((a) => a.providerId === provider)).toBe(true);
  const verified = assignments.reduce((sum, a) => sum + a.verifiedSeconds, 0);
  expect(verified).toBeGreaterThan(0);
  expect(paidByProvider(settlements).get(provider)?.seconds).toBe(verified);
}, 480_000);
