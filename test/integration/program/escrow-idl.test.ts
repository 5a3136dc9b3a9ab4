/**
 * The hand-written IDL and the program agree: every instruction built from the IDL is accepted with exactly the
 * declared argument bytes and accounts (order, writable, signer), and refused with any other; every account and
 * event the program writes has the declared discriminator and decodes and re-encodes byte for byte; named
 * errors reach Anchor's client as Anchor's own would.
 */
import { AnchorError, type BorshInstructionCoder } from '@coral-xyz/anchor';
import { sha256 } from '@noble/hashes/sha256';
import { TransactionInstruction, type Keypair, type PublicKey } from '@solana/web3.js';
import { LEASE_ESCROW_IDL } from '../../../infra/solana/escrow-client';
import { EscrowHarness, buildProgram } from './escrow-harness';
import { GRACE_SECONDS, TOKEN, approve, closing, openLease, settlement, type Market } from './escrow-fixtures';

beforeAll(() => buildProgram());

const anchorDiscriminator = (preimage: string) => Array.from(sha256(preimage).slice(0, 8));
const camel = (snake: string) => snake.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
const lowerFirst = (name: string) => name[0]!.toLowerCase() + name.slice(1);

interface DeclaredAccount {
  name: string;
  writable?: boolean;
  signer?: boolean;
  address?: string;
  pda?: unknown;
}

function declaredAccounts(instruction: string): DeclaredAccount[] {
  const ix = LEASE_ESCROW_IDL.instructions.find((i) => i.name === instruction)!;
  return ix.accounts as DeclaredAccount[];
}

/** Variants of a valid instruction that break one declared property each. */
function violations(name: string, ix: TransactionInstruction) {
  const declared = declaredAccounts(name);
  const copy = (keys = ix.keys.map((k) => ({ ...k })), data = ix.data) =>
    new TransactionInstruction({ programId: ix.programId, keys, data });
  const out: { what: string; ix: TransactionInstruction; unsigned?: boolean }[] = [
    { what: 'one byte more of arguments', ix: copy(undefined, Buffer.concat([ix.data, Buffer.from([0])])) },
    { what: 'one byte less of arguments', ix: copy(undefined, ix.data.subarray(0, ix.data.length - 1)) },
  ];
  declared.forEach((account, i) => {
    const next = ix.keys[i + 1];
    if (i + 1 < declared.length && next !== undefined && !next.pubkey.equals(ix.keys[i]!.pubkey)) {
      const keys = ix.keys.map((k) => ({ ...k }));
      [keys[i], keys[i + 1]] = [keys[i + 1]!, keys[i]!];
      out.push({ what: `${account.name} swapped with ${declared[i + 1]!.name}`, ix: copy(keys) });
    }
    if (account.writable) {
      const keys = ix.keys.map((k, j) => ({ ...k, isWritable: j === i ? false : k.isWritable }));
      out.push({ what: `${account.name} read-only`, ix: copy(keys) });
    }
    if (account.signer) {
      const keys = ix.keys.map((k, j) => ({ ...k, isSigner: j === i ? false : k.isSigner }));
      out.push({ what: `${account.name} not signing`, ix: copy(keys), unsigned: true });
    }
  });
  return out;
}

describe('the IDL and the program agree', () => {
  let h: EscrowHarness;
  let m: Market;
  const logs: string[] = [];
  /** A closed and a reclaimed lease, once the scenario has run. */
  const leases: PublicKey[] = [];
  let violationsRefused = 0;
  /** Each instruction as the client built it with every account spelled out. */
  const built = new Map<string, TransactionInstruction>();

  /** Every violation is refused and changes nothing; then the instruction as built from the IDL succeeds. */
  async function agree(name: string, build: Promise<TransactionInstruction>, signers: Keypair[]) {
    const ix = await build;
    built.set(name, ix);
    expect(ix.keys.length).toBeGreaterThanOrEqual(declaredAccounts(name).length);
    expect(Array.from(ix.data.subarray(0, 8))).toEqual(anchorDiscriminator(`global:${name}`));
    for (const v of violations(name, ix)) {
      // The bank pays the fees: a fee payer is always a writable signer, whatever the instruction declares. A
      // variant with a signer flag cleared is signed by the other signers only.
      const stillSigning = (s: Keypair) => v.ix.keys.some((k) => k.isSigner && k.pubkey.equals(s.publicKey));
      const payers = v.unsigned ? [h.bank, ...signers.filter(stillSigning)] : [h.bank, ...signers];
      const touched = ix.keys.map((k) => k.pubkey);
      // Named in the failure message, so a violation that slips through says which one it was.
      const outcome = await h.refused(v.ix, payers, touched).catch((e: Error) => `${v.what}: ${e.message}`);
      expect(outcome).not.toMatch(new RegExp(`^${v.what}: `));
      violationsRefused += 1;
    }
    const result = await h.ok(Promise.resolve(ix), signers);
    logs.push(...result.logs);
  }

  test('the discriminators are Anchor’s hashes of the declared names', () => {
    const { instructions, accounts, events } = LEASE_ESCROW_IDL;
    for (const i of instructions) expect(i.discriminator).toEqual(anchorDiscriminator(`global:${i.name}`));
    for (const a of accounts!) expect(a.discriminator).toEqual(anchorDiscriminator(`account:${a.name}`));
    for (const e of events!) expect(e.discriminator).toEqual(anchorDiscriminator(`event:${e.name}`));
  });

  test('every instruction is accepted exactly as declared, and refused otherwise', async () => {
    h = new EscrowHarness();
    const admin = h.upgradeAuthority;
    const mint = h.createMint(6);
    const treasury = h.createTokenAccount(mint, admin.publicKey);
    const initialize = {
      admin: admin.publicKey,
      mint,
      treasury,
      settlementAuthority: admin.publicKey,
      feeBps: 300,
      burnBps: 5_000,
      reclaimGraceSeconds: GRACE_SECONDS,
    };
    await agree('initialize_config', h.client.initializeConfig(initialize), [admin]);
    // A market on the same config, with its own customer and providers.
    m = { ...(await marketOn(h, mint, treasury)), admin, authority: admin };
    const update = { ...initialize, feeBps: 250, newAdmin: admin.publicKey };
    await agree('update_config', h.client.updateConfig(update), [admin]);

    const leaseId = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const open = { customer: m.customer.publicKey, settlementAuthority: admin.publicKey, leaseId, mint,
      customerToken: m.customerToken };
    const terms = { maxRatePerSecond: 70_001n, durationSeconds: 1_801n, deposit: 50n * TOKEN + 7n, windowSeconds: 1_811n };
    await agree('open_lease', h.client.openLease({ ...open, ...terms }), [admin]);
    const lease = h.client.leaseAddress(leaseId);
    const vault = h.client.vaultAddress(lease);
    const l = { leaseId, lease, vault, deposit: terms.deposit, ratePerSecond: 70_001n, durationSeconds: 1_801n,
      windowSeconds: 1_811n };
    const stored = h.client.decodeLease(h.data(lease));
    expect([stored.maxRatePerSecond, stored.durationSeconds, stored.deposited, stored.windowSeconds]).toEqual([
      terms.maxRatePerSecond,
      terms.durationSeconds,
      terms.deposit,
      terms.windowSeconds,
    ]);
    expect(Buffer.from(stored.leaseId).toString('hex')).toBe(leaseId.replace(/-/g, ''));

    const topUp = { settlementAuthority: admin.publicKey, lease, customer: m.customer.publicKey,
      customerToken: m.customerToken, amount: 3n, extendSeconds: 9n };
    await agree('top_up', h.client.topUp(topUp), [admin]);
    expect(h.client.decodeLease(h.data(lease)).durationSeconds).toBe(1_810n);
    h.advance(100);
    await agree('settle', h.client.settle(settlement(m, l, 5n, [1_000_000n, 33n])), [admin]);
    expect(h.client.decodeLease(h.data(lease)).lastPeriod).toBe(5n);
    h.advance(100);
    await agree('close_lease', h.client.closeLease(closing(m, l, 6n, [2_000_000n])), [admin]);

    const other = await openLease(h, m, { durationSeconds: 10n });
    h.advance(10n + GRACE_SECONDS);
    const reclaim = { customer: m.customer.publicKey, lease: other.lease, customerToken: m.customerToken };
    await agree('reclaim', h.client.reclaim(reclaim), [m.customer]);
    leases.push(lease, other.lease);
    // Arguments ±1 byte, every adjacent swap, every writable and every signer flag, of all seven instructions.
    expect(violationsRefused).toBeGreaterThan(70);
  });

  test('the PDAs and program addresses declared in the IDL resolve to the accounts the program takes', async () => {
    expect([...built.keys()].sort()).toEqual(LEASE_ESCROW_IDL.instructions.map((i) => i.name).sort());
    for (const [name, strict] of built) {
      const decoded = (h.client.program.coder.instruction as BorshInstructionCoder).decode(strict.data)!;
      const declared = declaredAccounts(name);
      // Only what Anchor cannot derive from the IDL: accounts with neither a fixed address nor PDA seeds.
      const given = Object.fromEntries(
        declared.flatMap((a, i) => (a.pda || a.address ? [] : [[camel(a.name), strict.keys[i]!.pubkey]])),
      );
      const args = Object.values(decoded.data as Record<string, unknown>);
      const resolved = await h.client.program.methods[camel(name)]!(...args).accounts(given).instruction();
      const pubkeys = (ix: TransactionInstruction) => ix.keys.slice(0, declared.length).map((k) => k.pubkey.toBase58());
      expect({ name, keys: pubkeys(resolved) }).toEqual({ name, keys: pubkeys(strict) });
    }
  });

  test('accounts have the declared size and discriminator, and round-trip through the coder', async () => {
    const coder = h.client.program.coder.accounts;
    const accounts = [['config', h.client.configAddress] as const, ...leases.map((a) => ['lease', a] as const)];
    expect(accounts).toHaveLength(3);
    for (const [name, address] of accounts) {
      const data = h.data(address);
      expect(data.length).toBe(coder.size(name));
      const declared = LEASE_ESCROW_IDL.accounts!.find((a) => lowerFirst(a.name) === name)!;
      expect(Array.from(data.subarray(0, 8))).toEqual(declared.discriminator);
      expect(await coder.encode(name, coder.decode(name, data))).toEqual(data);
    }
  });

  test('every declared event is logged, and round-trips through the coder', () => {
    const seen = new Set<string>();
    for (const line of logs) {
      if (!line.startsWith('Program data: ')) continue;
      const bytes = Buffer.from(line.slice('Program data: '.length), 'base64');
      const event = h.client.program.coder.events.decode(line.slice('Program data: '.length));
      expect(event).not.toBeNull();
      const declared = LEASE_ESCROW_IDL.events!.find((e) => camel(lowerFirst(e.name)) === event!.name)!;
      expect(Array.from(bytes.subarray(0, 8))).toEqual(declared.discriminator);
      expect(h.client.program.coder.types.encode(event!.name, event!.data)).toEqual(bytes.subarray(8));
      seen.add(declared.name);
    }
    expect([...seen].sort()).toEqual(LEASE_ESCROW_IDL.events!.map((e) => e.name).sort());
  });

  test('a named error reaches the client as an AnchorError with the declared code', async () => {
    const stranger = h.wallet();
    const ix = await h.client.updateConfig({
      admin: stranger.publicKey,
      treasury: m.treasury,
      newAdmin: stranger.publicKey,
      settlementAuthority: stranger.publicKey,
      feeBps: 0,
      burnBps: 0,
      reclaimGraceSeconds: 0n,
    });
    const result = h.send([ix], [stranger]);
    expect(result.ok).toBe(false);
    const parsed = AnchorError.parse(result.logs);
    const declared = LEASE_ESCROW_IDL.errors!.find((e) => e.name === 'NotAdmin')!;
    expect([parsed?.error.errorCode.code, parsed?.error.errorCode.number, parsed?.error.errorMessage]).toEqual([
      declared.name,
      declared.code,
      declared.msg,
    ]);
  });

  test('an unknown or missing discriminator is refused as Anchor refuses it', async () => {
    const reclaim = { customer: m.customer.publicKey, lease: leases[0]!, customerToken: m.customerToken };
    const ix = await h.client.reclaim(reclaim);
    const unknown = new TransactionInstruction({ programId: ix.programId, keys: ix.keys, data: Buffer.alloc(8, 7) });
    const missing = new TransactionInstruction({ programId: ix.programId, keys: ix.keys, data: Buffer.alloc(3) });
    expect(await h.refused(unknown, [m.customer], [])).toBe('InstructionFallbackNotFound');
    expect(await h.refused(missing, [m.customer], [])).toBe('InstructionMissing');
  });
});

/** Customer and providers for a config that is already initialized. */
async function marketOn(h: EscrowHarness, mint: Market['mint'], treasury: Market['treasury']) {
  const customer = h.wallet();
  const customerToken = h.createTokenAccount(mint, customer.publicKey, 1_000n * TOKEN);
  approve(h, customer, customerToken, 1_000n * TOKEN);
  const providers = [0, 1].map(() => {
    const owner = h.wallet(1);
    return { owner, token: h.createTokenAccount(mint, owner.publicKey) };
  });
  return { mint, treasury, customer, customerToken, providers } satisfies Omit<Market, 'admin' | 'authority'>;
}

