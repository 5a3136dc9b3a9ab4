/**
 * Attacks on the config, on opening and topping up a lease, and on reclaim. Each must be refused with the
 * error meant for it and change nothing; a third party's top-up is accepted, and credited to the lease it names.
 */
import { randomUUID } from 'node:crypto';
import type { Keypair, PublicKey, TransactionInstruction } from '@solana/web3.js';
import { MIN_RECLAIM_GRACE_SECONDS } from '../../../infra/solana/escrow-client';
import { EscrowHarness, buildProgram } from './escrow-harness';
import {
  BURN_BPS,
  FEE_BPS,
  GRACE_SECONDS,
  TOKEN,
  openLease,
  openMarket,
  closing,
  substitute,
  topUp,
  watched,
  type Market,
  type OpenedLease,
} from './escrow-fixtures';

// open_lease's accounts, in IDL order.
const [, OPEN_AUTHORITY, , OPEN_LEASE, OPEN_VAULT] = [0, 1, 2, 3, 4];
// top_up's.
const [, TOP_UP_AUTHORITY, , , TOP_UP_VAULT] = [0, 1, 2, 3, 4];

beforeAll(() => buildProgram());

let h: EscrowHarness;
let m: Market;
let l: OpenedLease;

beforeEach(async () => {
  h = new EscrowHarness();
  m = await openMarket(h);
  l = await openLease(h, m, { durationSeconds: 600n });
});

const refused = (ix: Promise<TransactionInstruction> | TransactionInstruction, signers: Keypair[]) =>
  h.refused(ix, signers, watched(h, m, l));

function open(leaseId: string, mint = m.mint, customerToken = m.customerToken, maxRatePerSecond = 1_000n) {
  return h.client.openLease({
    customer: m.customer.publicKey,
    settlementAuthority: m.authority.publicKey,
    leaseId,
    mint,
    customerToken,
    maxRatePerSecond,
    durationSeconds: 600n,
    deposit: TOKEN,
  });
}

/** The same instruction with the account at `index` no longer a signer (named, but its key did not sign). */
async function unsigned(instruction: Promise<TransactionInstruction>, index: number): Promise<TransactionInstruction> {
  const ix = await instruction;
  ix.keys[index]!.isSigner = false;
  return ix;
}

const reclaim = (customer: PublicKey = m.customer.publicKey, lease = l.lease) =>
  h.client.reclaim({ customer, lease, customerToken: m.customerToken });

describe('the config refuses', () => {
  const update = (admin: PublicKey, feeBps = FEE_BPS) =>
    h.client.updateConfig({
      admin,
      treasury: m.treasury,
      newAdmin: admin,
      settlementAuthority: admin,
      feeBps,
      burnBps: BURN_BPS,
      reclaimGraceSeconds: GRACE_SECONDS,
    });

  test('update_config by anyone but the admin', async () => {
    const stranger = h.wallet();
    expect(await refused(update(stranger.publicKey), [stranger])).toBe('NotAdmin');
  });

  test('a fee above 100 %', async () => {
    expect(await refused(update(m.admin.publicKey, 10_001), [m.admin])).toBe('InvalidBps');
  });

  test('a reclaim grace below the minimum the program states, in update_config', async () => {
    const ix = h.client.updateConfig({
      admin: m.admin.publicKey,
      treasury: m.treasury,
      newAdmin: m.admin.publicKey,
      settlementAuthority: m.authority.publicKey,
      feeBps: FEE_BPS,
      burnBps: BURN_BPS,
      reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS - 1n,
    });
    expect(await refused(ix, [m.admin])).toBe('GraceTooShort');
  });

  test('a reclaim grace below the minimum in initialize_config: no config is created; the minimum itself is taken', async () => {
    const fresh = new EscrowHarness();
    const admin = fresh.wallet();
    const mint = fresh.createMint(6);
    const settings = {
      admin: admin.publicKey,
      mint,
      treasury: fresh.createTokenAccount(mint, admin.publicKey),
      settlementAuthority: admin.publicKey,
      feeBps: FEE_BPS,
      burnBps: BURN_BPS,
    };
    for (const grace of [0n, 60n, MIN_RECLAIM_GRACE_SECONDS - 1n]) {
      const ix = fresh.client.initializeConfig({ ...settings, reclaimGraceSeconds: grace });
      // The bank pays the fee, so the admin's lamports are watched too.
      expect(await fresh.refused(ix, [fresh.bank, admin], [fresh.client.configAddress, admin.publicKey])).toBe('GraceTooShort');
    }
    expect(fresh.exists(fresh.client.configAddress)).toBe(false);
    await fresh.ok(fresh.client.initializeConfig({ ...settings, reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS }), [admin]);
  });

  test('a second initialize_config', async () => {
    const attacker = h.wallet();
    const ix = h.client.initializeConfig({
      admin: attacker.publicKey,
      mint: m.mint,
      treasury: m.treasury,
      settlementAuthority: attacker.publicKey,
      feeBps: 10_000,
      burnBps: 0,
      reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS,
    });
    expect(await refused(ix, [attacker])).toBe('AlreadyInitialized');
  });
});

describe('open_lease refuses', () => {
  /** Refused, with nothing changed and no Lease account or vault created for `leaseId`. */
  async function refusedOpen(ix: Promise<TransactionInstruction>, leaseId: string, signers: Keypair[]) {
    const lease = h.client.leaseAddress(leaseId);
    const error = await h.refused(ix, signers, [...watched(h, m, l), lease, h.client.vaultAddress(lease)]);
    expect(h.exists(lease)).toBe(false);
    return error;
  }

  test("the customer opening its lease's escrow alone, on its own terms (rate 1), before the engine does", async () => {
    const leaseId = randomUUID();
    // Naming itself as the settlement authority.
    const self = substitute(open(leaseId, m.mint, m.customerToken, 1n), OPEN_AUTHORITY, m.customer.publicKey);
    expect(await refusedOpen(self, leaseId, [m.customer])).toBe('NotSettlementAuthority');
    // Naming the real one, which did not sign.
    const forged = unsigned(open(leaseId, m.mint, m.customerToken, 1n), OPEN_AUTHORITY);
    expect(await refusedOpen(forged, leaseId, [m.customer])).toBe('MissingSignature');
    // The engine's open, co-signed, still takes the lease id.
    await h.ok(open(leaseId), [m.customer, m.authority]);
    expect(h.client.decodeLease(h.data(h.client.leaseAddress(leaseId))).maxRatePerSecond).toBe(1_000n);
  });

  test('a co-signer who is not the settlement authority', async () => {
    const leaseId = randomUUID();
    const stranger = h.wallet();
    const ix = substitute(open(leaseId), OPEN_AUTHORITY, stranger.publicKey);
    expect(await refusedOpen(ix, leaseId, [m.customer, stranger])).toBe('NotSettlementAuthority');
  });

  test('a mint other than the payment mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), otherMint, otherToken), [m.customer, m.authority])).toBe('MintMismatch');
  });

  test('paying from a token account of another mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), m.mint, otherToken), [m.customer, m.authority])).toBe('MintMismatch');
  });

  test('a lease account that is not the PDA of the lease id', async () => {
    const foreign = h.client.leaseAddress(randomUUID());
    expect(await refused(substitute(open(randomUUID()), OPEN_LEASE, foreign), [m.customer, m.authority])).toBe(
      'InvalidLeaseAddress',
    );
  });

  test('a vault that is not the PDA of the lease', async () => {
    expect(await refused(substitute(open(randomUUID()), OPEN_VAULT, l.vault), [m.customer, m.authority])).toBe(
      'InvalidVault',
    );
  });

  test('opening a lease id twice', async () => {
    expect(await refused(open(l.leaseId), [m.customer, m.authority])).toBe('AlreadyInitialized');
  });
});

describe('top_up', () => {
  test('without the settlement authority is refused: the customer alone can neither add nor extend', async () => {
    const alone = unsigned(topUp(h, m, l, m.customer, m.customerToken, TOKEN, 600n), TOP_UP_AUTHORITY);
    expect(await refused(alone, [m.customer])).toBe('MissingSignature');
    const self = substitute(topUp(h, m, l, m.customer, m.customerToken, TOKEN), TOP_UP_AUTHORITY, m.customer.publicKey);
    expect(await refused(self, [m.customer])).toBe('NotSettlementAuthority');
    const stranger = h.wallet();
    const other = substitute(topUp(h, m, l, m.customer, m.customerToken, TOKEN), TOP_UP_AUTHORITY, stranger.publicKey);
    expect(await refused(other, [m.customer, stranger])).toBe('NotSettlementAuthority');
  });

  test("is refused into another lease's vault", async () => {
    const other = await openLease(h, m);
    const ix = topUp(h, m, l, m.customer, m.customerToken, TOKEN);
    expect(await refused(substitute(ix, TOP_UP_VAULT, other.vault), [m.customer, m.authority])).toBe('InvalidVault');
  });

  test('by a third party cannot extend the lease', async () => {
    const friend = h.wallet();
    const friendToken = h.createTokenAccount(m.mint, friend.publicKey, TOKEN);
    const ix = topUp(h, m, l, friend, friendToken, TOKEN, 10_000_000n);
    expect(await h.refused(ix, [friend, m.authority], [...watched(h, m, l), friendToken])).toBe('NotCustomer');
  });

  test('of nothing is refused', async () => {
    const ix = topUp(h, m, l, m.customer, m.customerToken, 0n);
    expect(await refused(ix, [m.customer, m.authority])).toBe('ZeroAmount');
  });

  test("by a third party is credited to the lease it names, and only to it", async () => {
    const other = await openLease(h, m);
    const untouched = h.snapshot([other.lease, other.vault]);
    const friend = h.wallet();
    const friendToken = h.createTokenAccount(m.mint, friend.publicKey, 3n * TOKEN);
    await h.ok(topUp(h, m, l, friend, friendToken, 3n * TOKEN), [friend, m.authority]);
    expect(h.client.decodeLease(h.data(l.lease)).deposited).toBe(l.deposit + 3n * TOKEN);
    expect(h.balance(l.vault)).toBe(l.deposit + 3n * TOKEN);
    expect(h.snapshot([other.lease, other.vault])).toBe(untouched);
  });
});

describe('reclaim refuses', () => {
  test('a reclaim before the end plus the grace period', async () => {
    h.advance(600n + GRACE_SECONDS - 1n);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
    h.advance(1);
    await h.ok(reclaim(), [m.customer]);
  });

  test('a reclaim before the last period is paid: the engine closes after the end, inside the grace', async () => {
    // The old 60 s grace let a customer reclaim a minute after the end; now the close an hour late still comes first.
    h.advance(600 + 60);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
    h.advance(3_600);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
    await h.ok(h.client.closeLease(closing(m, l, 1n, [600n * 1_000n])), [m.authority]);
    expect(h.client.decodeLease(h.data(l.lease))).toMatchObject({ status: 'closed', paidToProviders: 585_000n });
  });

  test('a reclaim by anyone but the customer', async () => {
    h.advance(600n + GRACE_SECONDS);
    const stranger = h.wallet();
    expect(await refused(reclaim(stranger.publicKey), [stranger])).toBe('NotCustomer');
  });

  test('a reclaim of a closed lease', async () => {
    h.advance(30);
    await h.ok(h.client.closeLease(closing(m, l, 1n, [])), [m.authority]);
    h.advance(600n + GRACE_SECONDS);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotOpen');
  });

  test('a reclaim that extended its own lease first waits for the new end', async () => {
    await h.ok(topUp(h, m, l, m.customer, m.customerToken, 1n, 300n), [m.customer, m.authority]);
    h.advance(600n + GRACE_SECONDS);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
  });
});
