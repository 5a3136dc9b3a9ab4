/**
 * Measures the compute units of every lease_escrow instruction in LiteSVM — above all the per-period transaction
 * of a rolling lease, settle + top_up with 1 and 16 providers (DESIGN §6: one transaction per lease per period, up
 * to 16 providers) — and rewrites programs/lease_escrow/COMPUTE_UNITS.md. Builds the program first if its sources
 * changed.
 *
 *   npx tsx scripts/compute-units.ts [--check]   (--check: fail if the file would change)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import { EscrowHarness, buildProgram } from '../test/integration/program/escrow-harness';
import {
  GRACE_SECONDS,
  closing,
  openInstruction,
  openLease,
  openMarket,
  settlement,
  topUp,
} from '../test/integration/program/escrow-fixtures';

const OUT = path.resolve(__dirname, '../programs/lease_escrow/COMPUTE_UNITS.md');
/** Solana's limit on a serialized transaction. */
const PACKET_BYTES = 1232;

interface Row {
  instruction: string;
  computeUnits: bigint;
  bytes: number;
}

/** The customer of every measured lease: a fixed key, so its allowance PDA, whose bump the program searches for
 * (1,500 units a try), is the same on every run and the figures repeat exactly. */
const CUSTOMER = Keypair.fromSeed(new Uint8Array(32).fill(7));
const PERIOD = 60n;
const RATE = 50_000n;
const plural = (n: number) => `${n} provider${n === 1 ? '' : 's'}`;

async function settleWith(providers: number): Promise<Row> {
  const h = new EscrowHarness();
  const m = await openMarket(h, providers);
  const l = await openLease(h, m);
  h.advance(60);
  // Every payout large enough to carry a treasury fee and a burn, so every transfer is made.
  const amounts = m.providers.map((_, i) => 100_000n + BigInt(i));
  const r = await h.ok(h.client.settle(settlement(m, l, 1n, amounts)), [m.authority]);
  return { instruction: `settle, ${plural(providers)}`, computeUnits: r.computeUnits, bytes: r.bytes };
}

/** A rolling lease's period: its settlement and the top-up of the next period, in one transaction. */
async function settleAndTopUp(providers: number): Promise<Row> {
  const h = new EscrowHarness();
  const m = await openMarket(h, providers, CUSTOMER);
  const window = 3n * PERIOD;
  const l = await openLease(h, m, { deposit: RATE * window, ratePerSecond: RATE, durationSeconds: window, windowSeconds: window });
  h.advance(PERIOD);
  const amounts = m.providers.map((_, i) => 100_000n + BigInt(i));
  const instructions = [await h.client.settle(settlement(m, l, 1n, amounts)), await topUp(h, m, l, RATE * PERIOD, PERIOD)];
  const r = h.send(instructions, [m.authority]);
  if (!r.ok) throw new Error(`settle + top_up, ${plural(providers)}: ${r.error}`);
  return { instruction: `settle + top_up, ${plural(providers)}`, computeUnits: r.computeUnits, bytes: r.bytes };
}

async function lifecycle(): Promise<Row[]> {
  const h = new EscrowHarness();
  const rows: Row[] = [];
  const record = (instruction: string, r: { computeUnits: bigint; bytes: number }) =>
    rows.push({ instruction, computeUnits: r.computeUnits, bytes: r.bytes });

  // openMarket's initialize_config is measured by repeating it on a fresh chain.
  const fresh = new EscrowHarness();
  const admin = fresh.upgradeAuthority;
  const mint = fresh.createMint(6);
  const init = {
    admin: admin.publicKey,
    mint,
    treasury: fresh.createTokenAccount(mint, admin.publicKey),
    settlementAuthority: admin.publicKey,
    feeBps: 250,
    burnBps: 4_000,
    reclaimGraceSeconds: GRACE_SECONDS,
  };
  record('initialize_config', await fresh.ok(fresh.client.initializeConfig(init), [admin]));
  const update = { ...init, newAdmin: admin.publicKey, feeBps: 300 };
  record('update_config', await fresh.ok(fresh.client.updateConfig(update), [admin]));

  const m = await openMarket(h, 4, CUSTOMER);
  const before = h.svm.getClock().unixTimestamp;
  const leaseId = '00000000-0000-4000-8000-000000000001';
  const terms = { deposit: RATE * 600n, ratePerSecond: RATE, durationSeconds: 600n, windowSeconds: 600n + PERIOD };
  record('open_lease', await h.ok(openInstruction(h, m, leaseId, terms), [m.authority]));
  const lease = h.client.leaseAddress(leaseId);
  const l = { leaseId, lease, vault: h.client.vaultAddress(lease), ...terms };
  record('top_up', await h.ok(topUp(h, m, l, RATE * PERIOD, PERIOD), [m.authority]));
  h.setTime(before + 60n);
  const amounts = [100_000n, 100_001n, 100_002n, 100_003n];
  record('close_lease, 4 providers', await h.ok(h.client.closeLease(closing(m, l, 1n, amounts)), [m.authority]));

  const other = await openLease(h, m, { durationSeconds: 60n });
  h.advance(60n + GRACE_SECONDS);
  const reclaim = { customer: m.customer.publicKey, lease: other.lease, customerToken: m.customerToken };
  record('reclaim', await h.ok(h.client.reclaim(reclaim), [m.customer]));
  return rows;
}

function render(rows: Row[]): string {
  const table = rows.map((r) => `| ${r.instruction} | ${r.computeUnits.toLocaleString('en-US')} | ${r.bytes} |`);
  return [
    '# lease_escrow compute units',
    '',
    'Measured in LiteSVM (npm `litesvm` 0.8) running `target/deploy/lease_escrow.so`, each instruction alone in a',
    'transaction signed by one key (the settlement authority for all but the config\'s and reclaim), but',
    '"settle + top_up": the per-period transaction of a rolling lease, which pays the period and draws the next',
    'one from the customer\'s allowance. open_lease and top_up draw through the allowance PDA (the customer does',
    'not sign); the figures include the PDA derivations, among them initialize_config\'s of the ProgramData account',
    'whose upgrade authority it checks. Settlements pay every provider a non-zero net amount, the treasury its fee',
    'share and burn the rest, so every token transfer is made. The budget of a transaction is 200,000 units per',
    `instruction by default (1,400,000 at most); a transaction is at most ${PACKET_BYTES} bytes.`,
    '',
    'Regenerate with `npm run program:compute-units` (`tsx scripts/compute-units.ts`).',
    '',
    '| Instruction | Compute units | Transaction bytes |',
    '| --- | ---: | ---: |',
    ...table,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  buildProgram();
  const rows = [...(await lifecycle())];
  for (const providers of [1, 4, 16]) rows.push(await settleWith(providers));
  for (const providers of [1, 16]) rows.push(await settleAndTopUp(providers));
  const tooBig = rows.filter((r) => r.bytes > PACKET_BYTES);
  if (tooBig.length > 0) throw new Error(`over ${PACKET_BYTES} bytes: ${tooBig.map((r) => r.instruction).join(', ')}`);
  const text = render(rows);
  if (process.argv.includes('--check')) {
    if (readFileSync(OUT, 'utf8') !== text) throw new Error(`${OUT} is out of date: run scripts/compute-units.ts`);
    return;
  }
  writeFileSync(OUT, text);
  process.stdout.write(text);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
