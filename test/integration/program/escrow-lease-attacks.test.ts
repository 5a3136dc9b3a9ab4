/**
 * Attacks on the config, on the terms of a lease's opening, and on reclaim. Each must be refused with the error
 * meant for it and change nothing. (Attacks through the allowance, and on top_up: escrow-allowance.test.ts.)
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
  openInstruction,
  openLease,
  openMarket,
  closing,
  substitute,
  topUp,
  watched,
  type LeaseTerms,
  type Market,
  type OpenedLease,
} from './escrow-fixtures';

// open_lease's accounts, in IDL order.
const OPEN = { authority: 0, lease: 4, vault: 5 };

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

/** 1 token for 600 s at most 2,000 base units a second (1.2 tokens), unless `terms` say otherwise. */
function open(leaseId: string, terms: LeaseTerms = {}, mint = m.mint, customerToken = m.customerToken) {
  const market = { ...m, mint };
  const customer = { wallet: m.customer.publicKey, token: customerToken };
  return openInstruction(h, market, leaseId, { deposit: TOKEN, ratePerSecond: 2_000n, durationSeconds: 600n, ...terms }, customer);
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
    const admin = fresh.upgradeAuthority;
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

  test('a second initialize_config, even by the upgrade authority (a stranger: escrow-config-authority.test.ts)', async () => {
    const ix = h.client.initializeConfig({
      admin: h.upgradeAuthority.publicKey,
      mint: m.mint,
      treasury: m.treasury,
      settlementAuthority: h.upgradeAuthority.publicKey,
      feeBps: 10_000,
      burnBps: 0,
      reclaimGraceSeconds: MIN_RECLAIM_GRACE_SECONDS,
    });
    expect(await refused(ix, [h.upgradeAuthority])).toBe('AlreadyInitialized');
  });
});

describe('open_lease refuses', () => {
  /** Refused, with nothing changed and no Lease account or vault created for `leaseId`. */
  async function refusedOpen(ix: Promise<TransactionInstruction>, leaseId: string, signers: Keypair[] = [m.authority]) {
    const lease = h.client.leaseAddress(leaseId);
    const error = await h.refused(ix, signers, [...watched(h, m, l), lease, h.client.vaultAddress(lease)]);
    expect(h.exists(lease)).toBe(false);
    return error;
  }

  test("the customer opening its lease's escrow itself, on its own terms (rate 1), before the engine does", async () => {
    const leaseId = randomUUID();
    const own = { ratePerSecond: 1n, deposit: 600n };
    // Naming itself as the settlement authority.
    const self = substitute(open(leaseId, own), OPEN.authority, m.customer.publicKey);
    expect(await refusedOpen(self, leaseId, [m.customer])).toBe('NotSettlementAuthority');
    // Naming the real one, which did not sign.
    const forged = unsigned(open(leaseId, own), OPEN.authority);
    expect(await refusedOpen(forged, leaseId, [m.customer])).toBe('MissingSignature');
    // The engine's open, by the settlement authority alone, still takes the lease id.
    await h.ok(open(leaseId), [m.authority]);
    expect(h.client.decodeLease(h.data(h.client.leaseAddress(leaseId))).maxRatePerSecond).toBe(2_000n);
  });

  test('a signer who is not the settlement authority', async () => {
    const leaseId = randomUUID();
    const stranger = h.wallet();
    const ix = substitute(open(leaseId), OPEN.authority, stranger.publicKey);
    expect(await refusedOpen(ix, leaseId, [stranger])).toBe('NotSettlementAuthority');
  });

  test('a deposit beyond the max rate times the duration; exactly that is taken', async () => {
    const leaseId = randomUUID();
    const terms = { ratePerSecond: 2_000n, durationSeconds: 600n };
    expect(await refusedOpen(open(leaseId, { ...terms, deposit: 1_200_001n }), leaseId)).toBe('DepositBeyondTerms');
    await h.ok(open(leaseId, { ...terms, deposit: 1_200_000n }), [m.authority]);
  });

  test('a duration beyond the window, and no window at all', async () => {
    const leaseId = randomUUID();
    expect(await refusedOpen(open(leaseId, { durationSeconds: 600n, windowSeconds: 599n }), leaseId)).toBe('BeyondWindow');
    expect(await refusedOpen(open(leaseId, { durationSeconds: 600n, windowSeconds: 0n }), leaseId)).toBe('BeyondWindow');
    await h.ok(open(leaseId, { durationSeconds: 600n, windowSeconds: 600n }), [m.authority]);
  });

  test('no deposit, no rate, no duration', async () => {
    const leaseId = randomUUID();
    expect(await refusedOpen(open(leaseId, { deposit: 0n }), leaseId)).toBe('ZeroAmount');
    expect(await refusedOpen(open(leaseId, { ratePerSecond: 0n }), leaseId)).toBe('InvalidRate');
    expect(await refusedOpen(open(leaseId, { durationSeconds: 0n }), leaseId)).toBe('InvalidDuration');
  });

  test('a mint other than the payment mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), {}, otherMint, otherToken), [m.authority])).toBe('MintMismatch');
  });

  test('paying from a token account of another mint', async () => {
    const otherMint = h.createMint(6);
    const otherToken = h.createTokenAccount(otherMint, m.customer.publicKey, 10n * TOKEN);
    expect(await refused(open(randomUUID(), {}, m.mint, otherToken), [m.authority])).toBe('MintMismatch');
  });

  test('a lease account that is not the PDA of the lease id', async () => {
    const foreign = h.client.leaseAddress(randomUUID());
    expect(await refused(substitute(open(randomUUID()), OPEN.lease, foreign), [m.authority])).toBe('InvalidLeaseAddress');
  });

  test('a vault that is not the PDA of the lease', async () => {
    expect(await refused(substitute(open(randomUUID()), OPEN.vault, l.vault), [m.authority])).toBe('InvalidVault');
  });

  test('opening a lease id twice', async () => {
    expect(await refused(open(l.leaseId), [m.authority])).toBe('AlreadyInitialized');
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

  test('a lease extended by a top-up is reclaimable only after its new end plus the grace', async () => {
    h.advance(300);
    await h.ok(topUp(h, m, l, 1n, 300n), [m.authority]);
    h.advance(300n + GRACE_SECONDS);
    expect(await refused(reclaim(), [m.customer])).toBe('LeaseNotExpired');
    h.advance(300);
    await h.ok(reclaim(), [m.customer]);
  });
});
