/**
 * Attacks on settle and close_lease. Each must be refused with the error meant for it, and must leave every
 * account it could have touched (config, lease, vault, mint, treasury, customer and provider token accounts)
 * exactly as it was.
 */
import { BN } from '@coral-xyz/anchor';
import { PublicKey, SystemProgram, TransactionInstruction, type Keypair } from '@solana/web3.js';
import { feeSplit } from '../../../infra/solana/escrow-client';
import { EscrowHarness, buildProgram } from './escrow-harness';
import {
  BURN_BPS,
  FEE_BPS,
  GRACE_SECONDS,
  TOKEN,
  closing,
  openLease,
  openMarket,
  settlement,
  substitute,
  topUp,
  watched,
  type Market,
  type OpenedLease,
} from './escrow-fixtures';

const U64_MAX = 2n ** 64n - 1n;
// settle's accounts, in IDL order.
const [AUTHORITY, , , VAULT, MINT, TREASURY, TOKEN_PROGRAM] = [0, 1, 2, 3, 4, 5, 6];

beforeAll(() => buildProgram());

let h: EscrowHarness;
let m: Market;
let l: OpenedLease;

beforeEach(async () => {
  h = new EscrowHarness();
  m = await openMarket(h);
  l = await openLease(h, m); // at most 50_000 base units per second
  h.advance(60);
});

const settle = (period: bigint, amounts: bigint[]) => h.client.settle(settlement(m, l, period, amounts));
const refused = (ix: Promise<TransactionInstruction> | TransactionInstruction, signers: Keypair[] = [m.authority]) =>
  h.refused(ix, signers, watched(h, m, l));
const close = (period: bigint, amounts: bigint[], refundTo = m.customerToken, customer = m.customer.publicKey) =>
  h.client.closeLease({ ...settlement(m, l, period, amounts), customer, customerToken: refundTo });

describe('settle refuses', () => {
  test('a signer who is not the settlement authority', async () => {
    const stranger = h.wallet();
    const ix = h.client.settle({ ...settlement(m, l, 1n, [1_000n]), settlementAuthority: stranger.publicKey });
    expect(await refused(ix, [stranger])).toBe('NotSettlementAuthority');
  });

  test('the settlement authority named but not signing', async () => {
    const ix = await settle(1n, [1_000n]);
    ix.keys[AUTHORITY]!.isSigner = false;
    expect(await refused(ix, [h.bank])).toBe('MissingSignature');
  });

  test("a substituted vault: another lease's", async () => {
    const other = await openLease(h, m);
    const before = h.snapshot([other.lease, other.vault]);
    expect(await refused(substitute(settle(1n, [1_000n]), VAULT, other.vault))).toBe('InvalidVault');
    expect(h.snapshot([other.lease, other.vault])).toBe(before);
  });

  test('a foreign lease account: a byte-for-byte copy of the lease, owned by another program', async () => {
    const fake = PublicKey.unique();
    const real = h.svm.getAccount(l.lease)!;
    h.svm.setAccount(fake, { ...real, owner: SystemProgram.programId });
    const ix = h.client.settle({ ...settlement(m, l, 1n, [1_000n]), lease: fake });
    expect(await refused(substitute(ix, VAULT, l.vault))).toBe('InvalidLease');
  });

  test('a replayed period, and an earlier one', async () => {
    await h.ok(settle(1n, [1_000n]), [m.authority]);
    await h.ok(settle(2n, [1_000n]), [m.authority]);
    expect(await refused(settle(2n, [1_000n]))).toBe('PeriodNotIncreasing');
    expect(await refused(settle(1n, [1_000n]))).toBe('PeriodNotIncreasing');
  });

  test('payouts above the max rate times the time since the lease opened', async () => {
    expect(await refused(settle(1n, [1_500_000n, 1_500_001n]))).toBe('RateExceeded');
    await h.ok(settle(1n, [1_500_000n, 1_500_000n]), [m.authority]);
    expect(await refused(settle(2n, [1n]))).toBe('RateExceeded');
  });

  test('payouts above the deposit', async () => {
    const small = await openLease(h, m, { deposit: TOKEN, ratePerSecond: 10n * TOKEN });
    h.advance(60);
    const ix = h.client.settle(settlement(m, small, 1n, [TOKEN, 1n]));
    expect(await h.refused(ix, [m.authority], watched(h, m, small))).toBe('DepositExceeded');
  });

  test('a provider token account of another mint', async () => {
    const otherMint = h.createMint(6);
    const foreign = h.createTokenAccount(otherMint, m.providers[0]!.owner.publicKey);
    const ix = h.client.settle({ ...settlement(m, l, 1n, []), payouts: [{ tokenAccount: foreign, amount: 1_000n }] });
    expect(await refused(ix)).toBe('MintMismatch');
  });

  test('a substituted treasury', async () => {
    const attacker = h.createTokenAccount(m.mint, h.wallet().publicKey);
    expect(await refused(substitute(settle(1n, [1_000_000n]), TREASURY, attacker))).toBe('InvalidTreasury');
  });

  test('a substituted burn: another mint in place of the payment mint', async () => {
    const otherMint = h.createMint(6);
    expect(await refused(substitute(settle(1n, [1_000_000n]), MINT, otherMint))).toBe('MintMismatch');
  });

  test('a payout to the lease vault itself', async () => {
    const ix = h.client.settle({ ...settlement(m, l, 1n, []), payouts: [{ tokenAccount: l.vault, amount: 1_000n }] });
    expect(await refused(ix)).toBe('PayeeIsVault');
  });

  test('arithmetic overflow in the payouts', async () => {
    expect(await refused(settle(1n, [U64_MAX, 2n]))).toBe('ArithmeticOverflow');
  });

  test('more than 16 payouts', async () => {
    const many = Array.from({ length: 17 }, () => 1n);
    const ix = await settle(1n, []);
    // The client refuses to build this, so encode it with the IDL's coder directly.
    const data = h.client.program.coder.instruction.encode('settle', {
      period: new BN(1),
      receiptsDigest: Array(32).fill(0),
      amounts: many.map(() => new BN(1)),
    });
    const payee = { pubkey: m.providers[0]!.token, isSigner: false, isWritable: true };
    const keys = [...ix.keys, ...many.map(() => payee)];
    expect(await refused(new TransactionInstruction({ programId: ix.programId, keys, data }))).toBe('TooManyPayouts');
  });

  test('amounts and provider accounts that do not pair up', async () => {
    const ix = await settle(1n, [1_000n, 2_000n]);
    ix.keys.pop();
    expect(await refused(ix)).toBe('PayoutAccountsMismatch');
  });

  test('a token program that is not SPL Token', async () => {
    expect(await refused(substitute(settle(1n, [1_000n]), TOKEN_PROGRAM, SystemProgram.programId))).toBe(
      'InvalidProgram',
    );
  });

  test('a settlement after the lease closed', async () => {
    await h.ok(close(1n, [1_000n]), [m.authority]);
    expect(await refused(settle(2n, [1_000n]))).toBe('LeaseNotOpen');
  });
});

describe('a payout after the lease ends', () => {
  // 600 s at most 10_000 base units a second: 6_000_000 payable in all. The program lets the lease hold no more
  // (open_lease and top_up keep deposited <= rate × duration), so beyond it is DepositExceeded; LeaseEndExceeded
  // checks the same bound from the lease's end (economics.rs tests it) should a deposit ever exceed its terms.
  const CAP = 6_000_000n;
  let short: OpenedLease;
  beforeEach(async () => {
    short = await openLease(h, m, { deposit: CAP, ratePerSecond: 10_000n, durationSeconds: 600n, windowSeconds: 1_200n });
  });
  const settleShort = (period: bigint, amounts: bigint[]) => h.client.settle(settlement(m, short, period, amounts));
  const refusedShort = (ix: Promise<TransactionInstruction>) => h.refused(ix, [m.authority], watched(h, m, short));

  test('pays the lease’s own time, never the time after its end', async () => {
    h.advance(300);
    expect(await refusedShort(settleShort(1n, [CAP / 2n + 1n]))).toBe('RateExceeded');
    h.advance(300 + 5_000); // long past the end: rate × elapsed would be 56_000_000
    expect(await refusedShort(settleShort(1n, [CAP + 1n]))).toBe('DepositExceeded');
    expect(await refusedShort(settleShort(1n, [CAP / 2n, CAP / 2n + 1n]))).toBe('DepositExceeded');
    await h.ok(settleShort(1n, [CAP / 2n, CAP / 2n]), [m.authority]);
    expect(await refusedShort(settleShort(2n, [1n]))).toBe('DepositExceeded');
    const lease = h.client.decodeLease(h.data(short.lease));
    expect(lease.paidToProviders + lease.fees + lease.burned).toBe(CAP);
  });

  test('the close pays at most the same cap, and refunds the whole rest', async () => {
    h.advance(600 + 5_000);
    await h.ok(settleShort(1n, [CAP - 1_000n]), [m.authority]);
    h.mintTo(m.mint, short.vault, 7n); // sent straight to the vault: refunded, never payable
    const close = (amounts: bigint[]) => h.client.closeLease(closing(m, short, 2n, amounts));
    expect(await refusedShort(close([1_001n]))).toBe('DepositExceeded');
    await h.ok(close([1_000n]), [m.authority]);
    const lease = h.client.decodeLease(h.data(short.lease));
    expect(lease).toMatchObject({ status: 'closed', refunded: 7n, deposited: CAP + 7n });
    expect(lease.paidToProviders + lease.fees + lease.burned + lease.refunded).toBe(lease.deposited);
  });

  test('a top-up before the end makes its seconds payable', async () => {
    await h.ok(topUp(h, m, short, 600_000n, 60n), [m.authority]);
    h.advance(600 + 5_000);
    const ix = h.client.settle(settlement(m, short, 1n, [CAP + 600_001n]));
    expect(await h.refused(ix, [m.authority], watched(h, m, short))).toBe('DepositExceeded');
    await h.ok(h.client.settle(settlement(m, short, 1n, [CAP + 600_000n])), [m.authority]);
  });
});

describe('a fee raised mid-lease', () => {
  test('leaves the open lease at the shares it opened with; a lease opened after the update takes the new ones', async () => {
    const gross = 1_000_000n;
    await h.ok(settle(1n, [gross]), [m.authority]);
    const update = { admin: m.admin.publicKey, treasury: m.treasury, newAdmin: m.admin.publicKey,
      settlementAuthority: m.authority.publicKey, feeBps: 5_000, burnBps: 0, reclaimGraceSeconds: GRACE_SECONDS };
    await h.ok(h.client.updateConfig(update), [m.admin]);
    expect(h.client.decodeConfig(h.data(h.client.configAddress)).feeBps).toBe(5_000);

    const [provider, treasury, supply] = [h.balance(m.providers[0]!.token), h.balance(m.treasury), h.supply(m.mint)];
    h.advance(60);
    await h.ok(settle(2n, [gross]), [m.authority]);
    const old = feeSplit(gross, FEE_BPS, BURN_BPS);
    expect(h.balance(m.providers[0]!.token) - provider).toBe(old.toProvider);
    expect(h.balance(m.treasury) - treasury).toBe(old.toTreasury);
    expect(supply - h.supply(m.mint)).toBe(old.toBurn);
    await h.ok(h.client.closeLease(closing(m, l, 3n, [gross])), [m.authority]);
    const lease = h.client.decodeLease(h.data(l.lease));
    expect([lease.feeBps, lease.burnBps]).toEqual([FEE_BPS, BURN_BPS]);
    expect([lease.paidToProviders, lease.fees, lease.burned]).toEqual([3n * old.toProvider, 3n * old.toTreasury, 3n * old.toBurn]);

    const later = await openLease(h, m);
    expect([h.client.decodeLease(h.data(later.lease)).feeBps, h.client.decodeLease(h.data(later.lease)).burnBps]).toEqual([5_000, 0]);
    h.advance(60);
    const treasuryBefore = h.balance(m.treasury);
    await h.ok(h.client.settle(settlement(m, later, 1n, [gross])), [m.authority]);
    expect(h.balance(m.treasury) - treasuryBefore).toBe(gross / 2n);
  });
});

describe('close_lease refuses', () => {
  test('a stranger closing the lease', async () => {
    const stranger = h.wallet();
    const ix = h.client.closeLease({
      ...settlement(m, l, 1n, []),
      settlementAuthority: stranger.publicKey,
      customer: m.customer.publicKey,
      customerToken: m.customerToken,
    });
    expect(await refused(ix, [stranger])).toBe('NotSettlementAuthority');
  });

  test('a refund to a token account the customer does not own', async () => {
    const attacker = h.createTokenAccount(m.mint, m.authority.publicKey);
    expect(await refused(close(1n, [], attacker))).toBe('NotCustomerTokenAccount');
  });

  test('a customer account that is not the lease’s customer', async () => {
    expect(await refused(close(1n, [], m.customerToken, m.authority.publicKey))).toBe('NotCustomer');
  });

  test('a replayed period on close', async () => {
    await h.ok(settle(1n, [1_000n]), [m.authority]);
    expect(await refused(close(1n, [1_000n]))).toBe('PeriodNotIncreasing');
  });

  test('a second close', async () => {
    await h.ok(close(1n, []), [m.authority]);
    expect(await refused(close(2n, []))).toBe('LeaseNotOpen');
  });
});
