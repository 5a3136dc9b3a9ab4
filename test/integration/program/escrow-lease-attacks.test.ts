/**
 * Attacks on the config, on opening and topping up a lease, and on reclaim. Each must be refused with the
 * error meant for it and change nothing; a third party's top-up is accepted, and credited to the lease it names.
 */
import { randomUUID } from 'node:crypto';
import type { Keypair, PublicKey, TransactionInstruction } from '@solana/web3.js';
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
const [, , OPEN_LEASE, OPEN_VAULT] = [0, 1, 2, 3];

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

function open(leaseId: string, mint = m.mint, customerToken = m.customerToken) {
  return h.client.openLease({
    customer: m.customer.publicKey,
    leaseId,
    mint,
    customerToken,
    maxRatePerSecond: 1_000n,
    durationSeconds: 600n,
    deposit: TOKEN,
  });
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

  test('a second initialize_config', async () => {
    const attacker = h.wallet();
    const ix = h.client.initializeConfig({
      admin: attacker.publicKey,
      mint: m.mint,
      treasury: m.treasury,
      settlementAuthority: attacker.publicKey,
      feeBps: 10_000,
      burnBps: 0,
      reclaimGraceSeconds: 0n,
    });
    expect(await refused(ix, [attacker])).toBe('AlreadyInitialized');
  });
});

describe('open_lease refuses', () => {
  test('a mint other than the payment mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), otherMint, otherToken), [m.customer])).toBe('MintMismatch');
  });

  test('paying from a token account of another mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), m.mint, otherToken), [m.customer])).toBe('MintMismatch');
  });

  test('a lease account that is not the PDA of the lease id', async () => {
    const foreign = h.client.leaseAddress(randomUUID());
    expect(await refused(substitute(open(randomUUID()), OPEN_LEASE, foreign), [m.customer])).toBe(
      'InvalidLeaseAddress',
    );
  });

  test('a vault that is not the PDA of the lease', async () => {
    expect(await refused(substitute(open(randomUUID()), OPEN_VAULT, l.vault), [m.customer])).toBe('InvalidVault');
  });

  test('opening a lease id twice', async () => {
    expect(await refused(open(l.leaseId), [m.customer])).toBe('AlreadyInitialized');
  });
});

describe('top_up', () => {
  test("is refused into another lease's vault", async () => {
    const other = await openLease(h, m);
    const ix = topUp(h, l, m.customer, m.customerToken, TOKEN);
    expect(await refused(substitute(ix, 2, other.vault), [m.customer])).toBe('InvalidVault');
  });

  test('by a third party cannot extend the lease', async () => {
    const friend = h.wallet();
    const friendToken = h.createTokenAccount(m.mint, friend.publicKey, TOKEN);
    const ix = topUp(h, l, friend, friendToken, TOKEN, 10_000_000n);
    expect(await h.refused(ix, [friend], [...watched(h, m, l), friendToken])).toBe('NotCustomer');
  });

  test('of nothing is refused', async () => {
    const ix = topUp(h, l, m.customer, m.customerToken, 0n);
    expect(await refused(ix, [m.customer])).toBe('ZeroAmount');
  });

  test("by a third party is credited to the lease it names, and only to it", async () => {
    const other = await openLease(h, m);
    const untouched = h.snapshot([other.lease, other.vault]);
    const friend = h.wallet();
    const friendToken = h.createTokenAccount(m.mint, friend.publicKey, 3n * TOKEN);
    await h.ok(topUp(h, l, friend, friendToken, 3n * TOKEN), [friend]);
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
    await h.ok(topUp(h, l, m.customer, m.customerToken, 1n, 300n), [m.customer]);
    h.advance(600n + GRACE_SECONDS);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
  });
});
