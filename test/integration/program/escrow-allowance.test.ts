/**
 * The customer's allowance (an SPL Token delegation to the PDA ["allowance", customer]) and top_up, attacked. The
 * program draws on an allowance only for the settlement authority, only from a token account the same customer
 * owns, only into that customer's lease, only within the lease's terms and window; the token program refuses what
 * the customer did not approve. Each refusal is named and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { PublicKey, TransactionInstruction } from '@solana/web3.js';
import { EscrowHarness, buildProgram } from './escrow-harness';
import {
  TOKEN,
  approve,
  closing,
  newCustomer,
  openInstruction,
  openLease,
  openMarket,
  revoke,
  substitute,
  topUp,
  watched,
  type Customer,
  type Market,
  type OpenedLease,
} from './escrow-fixtures';

// open_lease's accounts, in IDL order.
const OPEN = { allowance: 3, customerToken: 7 };
// top_up's.
const TOP_UP = { authority: 0, vault: 3, customerToken: 4, allowance: 5 };
const [PERIOD, RATE] = [60n, 50_000n];

beforeAll(() => buildProgram());

let h: EscrowHarness;
let m: Market;
/** The market's customer, "A", and a second customer, "B", both with an allowance approved. */
let a: Customer;
let b: Customer;
/** A's lease: three periods deposited, a window of three periods. */
let l: OpenedLease;

beforeEach(async () => {
  h = new EscrowHarness();
  m = await openMarket(h);
  a = { wallet: m.customer, token: m.customerToken, allowance: h.client.allowanceAddress(m.customer.publicKey) };
  b = newCustomer(h, m.mint);
  const window = 3n * PERIOD;
  l = await openLease(h, m, { deposit: RATE * window, ratePerSecond: RATE, durationSeconds: window, windowSeconds: window });
});

/** Everything of both customers and of A's lease that a draw could touch. */
const everything = (...more: PublicKey[]) => [...watched(h, m, l), b.token, b.allowance, ...more];
const refused = (ix: Promise<TransactionInstruction> | TransactionInstruction, ...more: PublicKey[]) =>
  h.refused(ix, [m.authority], everything(...more));
const asCustomer = (c: Customer) => ({ wallet: c.wallet.publicKey, token: c.token });

/** Refused, and no lease created for `leaseId`. */
async function refusedOpen(ix: Promise<TransactionInstruction>, leaseId: string): Promise<string> {
  const lease = h.client.leaseAddress(leaseId);
  const error = await refused(ix, lease, h.client.vaultAddress(lease));
  expect(h.exists(lease)).toBe(false);
  return error;
}

describe("one customer's allowance never funds another's lease", () => {
  test("open_lease for B with A's allowance, A's token account, or both", async () => {
    const leaseId = randomUUID();
    const forB = () => openInstruction(h, m, leaseId, { durationSeconds: 600n }, asCustomer(b));
    expect(await refusedOpen(substitute(forB(), OPEN.allowance, a.allowance), leaseId)).toBe('InvalidAllowance');
    expect(await refusedOpen(substitute(forB(), OPEN.customerToken, a.token), leaseId)).toBe('NotCustomerTokenAccount');
    const both = substitute(substitute(forB(), OPEN.allowance, a.allowance), OPEN.customerToken, a.token);
    expect(await refusedOpen(both, leaseId)).toBe('InvalidAllowance');
    // B's own allowance opens B's lease.
    await h.ok(forB(), [m.authority]);
    expect(h.client.decodeLease(h.data(h.client.leaseAddress(leaseId))).customer).toEqual(b.wallet.publicKey);
  });

  test("top_up of A's lease from B's token account or B's allowance, and of B's lease from A's", async () => {
    expect(await refused(substitute(topUp(h, m, l, TOKEN, PERIOD), TOP_UP.customerToken, b.token))).toBe(
      'NotCustomerTokenAccount',
    );
    expect(await refused(substitute(topUp(h, m, l, TOKEN, PERIOD), TOP_UP.allowance, b.allowance))).toBe('InvalidAllowance');
    const lb = await openLease(h, m, { durationSeconds: 600n, windowSeconds: 1_200n }, asCustomer(b));
    const bLease = { customer: b.wallet.publicKey, customerToken: b.token, lease: lb.lease };
    const ofB = () => h.client.topUp({ settlementAuthority: m.authority.publicKey, ...bLease, amount: TOKEN, extendSeconds: 60n });
    const watchB = [lb.lease, lb.vault];
    expect(await refused(substitute(ofB(), TOP_UP.customerToken, a.token), ...watchB)).toBe('NotCustomerTokenAccount');
    expect(await refused(substitute(ofB(), TOP_UP.allowance, a.allowance), ...watchB)).toBe('InvalidAllowance');
    await h.ok(ofB(), [m.authority]);
  });

  test("a token account approved to another customer's allowance by mistake is drawn by neither", async () => {
    const c = newCustomer(h, m.mint, 0n);
    approve(h, c.wallet, c.token, 50n * TOKEN, a.allowance);
    const leaseId = randomUUID();
    // As A's lease: C's token account is not A's.
    const asA = openInstruction(h, m, leaseId, { durationSeconds: 600n }, { wallet: a.wallet.publicKey, token: c.token });
    expect(await refusedOpen(asA, leaseId)).toBe('NotCustomerTokenAccount');
    // As C's lease: C's own allowance is not the delegate, so the token program refuses the draw.
    const asC = openInstruction(h, m, leaseId, { durationSeconds: 600n }, asCustomer(c));
    expect(await refusedOpen(asC, leaseId)).toBe('token:OwnerMismatch');
    expect(h.balance(c.token)).toBe(10_000n * TOKEN);
  });
});

describe('the allowance is what the customer approved', () => {
  test('a revoked allowance: open_lease and top_up fail and nothing moves; approved again, they work', async () => {
    revoke(h, a.wallet, a.token);
    expect(h.delegation(a.token)).toEqual({ delegate: null, amount: 0n });
    const leaseId = randomUUID();
    expect(await refusedOpen(openInstruction(h, m, leaseId, { durationSeconds: 600n }), leaseId)).toBe('token:OwnerMismatch');
    h.advance(PERIOD);
    expect(await refused(topUp(h, m, l, RATE * PERIOD, PERIOD))).toBe('token:OwnerMismatch');
    approve(h, a.wallet, a.token, 100n * TOKEN);
    await h.ok(openInstruction(h, m, leaseId, { durationSeconds: 600n }), [m.authority]);
    await h.ok(topUp(h, m, l, RATE * PERIOD, PERIOD), [m.authority]);
  });

  test('an allowance smaller than the deposit or the top-up; exactly enough is drawn to the unit', async () => {
    approve(h, a.wallet, a.token, 30n * TOKEN - 1n);
    const leaseId = randomUUID();
    const terms = { durationSeconds: 600n, deposit: 30n * TOKEN };
    expect(await refusedOpen(openInstruction(h, m, leaseId, terms), leaseId)).toBe('token:InsufficientFunds');
    approve(h, a.wallet, a.token, 30n * TOKEN + RATE * PERIOD - 1n);
    await h.ok(openInstruction(h, m, leaseId, terms), [m.authority]);
    h.advance(PERIOD);
    expect(await refused(topUp(h, m, l, RATE * PERIOD, PERIOD))).toBe('token:InsufficientFunds');
    await h.ok(topUp(h, m, l, RATE * PERIOD - 1n, PERIOD), [m.authority]);
    expect(h.delegation(a.token).amount).toBe(0n);
  });

  test('a balance smaller than the allowance', async () => {
    const poor = newCustomer(h, m.mint);
    const leaseId = randomUUID();
    const ix = openInstruction(h, m, leaseId, { durationSeconds: 360_000n, deposit: 10_000n * TOKEN + 1n }, asCustomer(poor));
    approve(h, poor.wallet, poor.token, 20_000n * TOKEN);
    expect(await refusedOpen(ix, leaseId)).toBe('token:InsufficientFunds');
  });
});

describe('top_up refuses', () => {
  test('anyone but the settlement authority: the customer itself, a stranger, the authority not signing', async () => {
    h.advance(PERIOD);
    const self = substitute(topUp(h, m, l, TOKEN, PERIOD), TOP_UP.authority, a.wallet.publicKey);
    expect(await h.refused(self, [a.wallet], everything())).toBe('NotSettlementAuthority');
    const stranger = h.wallet();
    const other = substitute(topUp(h, m, l, TOKEN, PERIOD), TOP_UP.authority, stranger.publicKey);
    expect(await h.refused(other, [stranger], everything())).toBe('NotSettlementAuthority');
    const ix = await topUp(h, m, l, TOKEN, PERIOD);
    ix.keys[TOP_UP.authority]!.isSigner = false;
    expect(await h.refused(ix, [h.bank], everything())).toBe('MissingSignature');
  });

  test("beyond the lease's window: the new end at most the window past now", async () => {
    // Opened with three periods for a window of three: nothing more fits until time passes.
    expect(await refused(topUp(h, m, l, 1n, 1n))).toBe('BeyondWindow');
    h.advance(PERIOD);
    expect(await refused(topUp(h, m, l, RATE * PERIOD, PERIOD + 1n))).toBe('BeyondWindow');
    await h.ok(topUp(h, m, l, RATE * PERIOD, PERIOD), [m.authority]);
    expect(await refused(topUp(h, m, l, 1n, 1n))).toBe('BeyondWindow');
    // Long after the end, the window still counts from now: a lapsed lease can be bought back only a window ahead.
    h.advance(10n * PERIOD);
    expect(await refused(topUp(h, m, l, RATE * 15n * PERIOD, 15n * PERIOD))).toBe('BeyondWindow');
  });

  test("beyond the lease's rate for the seconds it buys", async () => {
    h.advance(PERIOD);
    expect(await refused(topUp(h, m, l, RATE * PERIOD + 1n, PERIOD))).toBe('DepositBeyondTerms');
  });

  test('no amount, no seconds', async () => {
    h.advance(PERIOD);
    expect(await refused(topUp(h, m, l, 0n, PERIOD))).toBe('ZeroAmount');
    expect(await refused(topUp(h, m, l, TOKEN, 0n))).toBe('InvalidDuration');
  });

  test("into another lease's vault", async () => {
    const other = await openLease(h, m, { durationSeconds: 600n });
    h.advance(PERIOD);
    const ix = substitute(topUp(h, m, l, TOKEN, PERIOD), TOP_UP.vault, other.vault);
    expect(await refused(ix, other.lease, other.vault)).toBe('InvalidVault');
  });

  test('a closed lease', async () => {
    h.advance(PERIOD);
    await h.ok(h.client.closeLease(closing(m, l, 1n, [])), [m.authority]);
    expect(await refused(topUp(h, m, l, TOKEN, PERIOD))).toBe('LeaseNotOpen');
  });
});
