/**
 * What must hold after a storm, however processes died (issue 9 item 4), read from the three records an
 * outsider can read: the engine's PostgreSQL, Temporal, and the chain's Lease accounts. Each check returns the
 * violations it found (empty: it holds), so a test asserts on them and the chaos script prints them.
 */
import type { WorkflowClient } from '@temporalio/client';
import type { Connection } from '@solana/web3.js';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { TERMINAL_STATUSES } from '../../domain/lease';
import type { LeaseStatus } from '../../domain/lease';
import { escrowBooks, listSettlements } from '../../infra/db/repositories/escrow-ledger.repo';
import type { Database } from '../../infra/db/schema';
import { EscrowClient, leaseAddress } from '../../infra/solana/escrow-client';
import { paidByProvider } from '../../test/support/money';
import { leaseWorkflowId } from '../../workflows/messages';

export interface InvariantResult {
  name: string;
  ok: boolean;
  /** Leases (or GPUs) checked. */
  checked: number;
  violations: string[];
}

export interface InvariantSources {
  db: Kysely<Database>;
  workflow: WorkflowClient;
  chain: Connection;
}

const result = (name: string, checked: number, violations: string[]): InvariantResult => ({ name, ok: violations.length === 0, checked, violations });
const isTerminal = (status: string) => TERMINAL_STATUSES.includes(status as LeaseStatus);

/**
 * No lease lost or stuck: each is running with its workflow open, or ended with a reason, an end time and its
 * workflow closed; no live assignment outlives its lease, and no GPU stays reserved for an ended one.
 */
export async function leasesAccountedFor(src: InvariantSources, leaseIds: string[]): Promise<InvariantResult> {
  const violations: string[] = [];
  const rows = await src.db.selectFrom('leases').select(['id', 'status', 'end_reason', 'ended_at']).where('id', 'in', leaseIds).execute();
  for (const id of leaseIds) {
    const lease = rows.find((row) => row.id === id);
    if (!lease) {
      violations.push(`${id}: lost (no row)`);
      continue;
    }
    let workflowStatus: string;
    try {
      workflowStatus = (await src.workflow.getHandle(leaseWorkflowId(id)).describe()).status.name;
    } catch (error) {
      violations.push(`${id}: no workflow (${(error as Error).message})`);
      continue;
    }
    if (isTerminal(lease.status)) {
      if (!lease.end_reason) violations.push(`${id}: ${lease.status} without an end reason`);
      if (!lease.ended_at) violations.push(`${id}: ${lease.status} without an end time`);
      if (workflowStatus === 'RUNNING') violations.push(`${id}: ${lease.status} but its workflow still runs`);
    } else if (lease.status === 'running') {
      if (workflowStatus !== 'RUNNING') violations.push(`${id}: running but its workflow is ${workflowStatus}`);
    } else {
      violations.push(`${id}: stuck in ${lease.status} (workflow ${workflowStatus})`);
    }
  }
  const orphans = await src.db.selectFrom('assignments').innerJoin('leases', 'leases.id', 'assignments.lease_id')
    .select(['assignments.id', 'assignments.lease_id']).where('assignments.ended_at', 'is', null)
    .where('leases.status', 'in', [...TERMINAL_STATUSES]).where('leases.id', 'in', leaseIds).execute();
  for (const orphan of orphans) violations.push(`${orphan.lease_id}: assignment ${orphan.id} still live after the lease ended`);
  const held = await src.db.selectFrom('gpus').innerJoin('leases', 'leases.id', 'gpus.lease_id')
    .select(['gpus.id', 'gpus.lease_id']).where('gpus.status', '=', 'reserved').where('leases.status', 'in', [...TERMINAL_STATUSES]).execute();
  for (const gpu of held) violations.push(`GPU ${gpu.id} still reserved for ended lease ${gpu.lease_id}`);
  return result('no lease lost or stuck', leaseIds.length, violations);
}

/** No GPU held by two live assignments, over the whole assignments table. */
export async function noGpuHeldTwice(src: InvariantSources): Promise<InvariantResult> {
  const twice = await src.db.selectFrom('assignments').select(['gpu_id', sql<string>`count(*)`.as('live'), sql<string>`string_agg(lease_id, ',')`.as('leases')])
    .where('ended_at', 'is', null).groupBy('gpu_id').having(sql`count(*)`, '>', 1).execute();
  const { n } = await src.db.selectFrom('gpus').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return result('no GPU held by two live assignments', Number(n), twice.map((row) => `GPU ${row.gpu_id}: ${row.live} live assignments (${row.leases})`));
}

/**
 * The money of every lease that opened an escrow: no period paid twice (the ledger's periods are unique and
 * all confirmed, and the chain's last_period is the ledger's last), `paid + fees + burned + refunded =
 * deposited` exactly on the chain and in the ledger, the two agree to the base unit, the escrow is no longer
 * open once the lease ended, and each provider is paid exactly the seconds its assignments verified.
 */
export async function moneyBalanced(src: InvariantSources, leaseIds: string[]): Promise<{ periods: InvariantResult; money: InvariantResult; providers: InvariantResult }> {
  const escrow = new EscrowClient(src.chain);
  const periods: string[] = [];
  const money: string[] = [];
  const providers: string[] = [];
  let withEscrow = 0;
  for (const id of leaseIds) {
    const [books, onChain, lease] = await Promise.all([
      escrowBooks(src.db, id),
      escrow.fetchLease(leaseAddress(id)),
      src.db.selectFrom('leases').select('status').where('id', '=', id).executeTakeFirst(),
    ]);
    if (!books && !onChain) continue;
    withEscrow += 1;
    if (!books || !onChain) {
      money.push(`${id}: escrow ${books ? 'in the ledger but not on the chain' : 'on the chain but not in the ledger'}`);
      continue;
    }
    const chain = { deposited: onChain.deposited, paid: onChain.paidToProviders, fees: onChain.fees, burned: onChain.burned, refunded: onChain.refunded };
    const ledger = { deposited: BigInt(books.deposited), paid: BigInt(books.paidToProviders), fees: BigInt(books.fees), burned: BigInt(books.burned),
      refunded: BigInt(books.refunded) };
    const balanced = (b: typeof chain) => b.paid + b.fees + b.burned + b.refunded === b.deposited;
    const ended = lease !== undefined && isTerminal(lease.status);
    if (ended && !balanced(chain)) money.push(`${id}: on-chain ${fmt(chain)} does not balance`);
    if (ended && !balanced(ledger)) money.push(`${id}: ledger ${fmt(ledger)} does not balance`);
    if (fmt(chain) !== fmt(ledger)) money.push(`${id}: chain ${fmt(chain)} and ledger ${fmt(ledger)} differ`);
    if (ended && onChain.status === 'open') money.push(`${id}: lease ${lease.status} but its escrow is still open on the chain`);

    if (BigInt(books.lastPeriod) !== onChain.lastPeriod) periods.push(`${id}: chain last_period ${onChain.lastPeriod}, ledger ${books.lastPeriod}`);
    const rows = await src.db.selectFrom('settlements').select(['period', 'status']).where('lease_id', '=', id).execute();
    const seen = new Set<string>();
    for (const row of rows) {
      if (seen.has(String(row.period))) periods.push(`${id}: period ${row.period} in the ledger twice`);
      seen.add(String(row.period));
      if (ended && row.status !== 'confirmed') periods.push(`${id}: period ${row.period} still ${row.status} after the lease ended`);
    }

    const paid = paidByProvider(await listSettlements(src.db, id));
    const verified = await src.db.selectFrom('assignments').select(['provider_id', sql<string>`sum(verified_seconds)`.as('seconds')])
      .where('lease_id', '=', id).groupBy('provider_id').execute();
    if (ended) {
      for (const row of verified) {
        const seconds = paid.get(row.provider_id)?.seconds ?? 0;
        if (seconds !== Number(row.seconds)) providers.push(`${id}: provider ${row.provider_id} paid ${seconds} s of ${row.seconds} s verified`);
      }
      for (const [provider, sum] of paid) {
        if (!verified.some((row) => row.provider_id === provider)) providers.push(`${id}: provider ${provider} paid ${sum.seconds} s with no assignment`);
      }
    }
  }
  return {
    periods: result('no period paid twice', withEscrow, periods),
    money: result('paid + fees + burned + refunded = deposited, chain = ledger', withEscrow, money),
    providers: result('each provider paid exactly its verified seconds', withEscrow, providers),
  };
}

const fmt = (b: { deposited: bigint; paid: bigint; fees: bigint; burned: bigint; refunded: bigint }) =>
  `deposited ${b.deposited} = paid ${b.paid} + fees ${b.fees} + burned ${b.burned} + refunded ${b.refunded}`;

export async function checkInvariants(src: InvariantSources, leaseIds: string[]): Promise<InvariantResult[]> {
  const money = await moneyBalanced(src, leaseIds);
  return [await leasesAccountedFor(src, leaseIds), await noGpuHeldTwice(src), money.periods, money.money, money.providers];
}
