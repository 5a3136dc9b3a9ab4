/**
 * Only the program's upgrade authority (the deployer) may initialize the config: between `solana program deploy`
 * and `initialize_config`, a stranger who front-runs it must be refused, whatever ProgramData account it passes,
 * and change nothing. A program made immutable before its config was initialized can never be configured.
 */
import { readFileSync } from 'node:fs';
import { Keypair, SystemProgram, type PublicKey, type TransactionInstruction } from '@solana/web3.js';
import { UPGRADEABLE_LOADER_ID } from '../../../infra/solana/escrow-client';
import { deployUpgradeable, programDataBytes } from '../../../infra/solana/chain-node/upgradeable-program';
import { EscrowHarness, PROGRAM_SO, buildProgram } from './escrow-harness';
import { BURN_BPS, FEE_BPS, GRACE_SECONDS, substitute } from './escrow-fixtures';

// initialize_config's accounts, in IDL order.
const PROGRAM_DATA = 5;

beforeAll(() => buildProgram());

let h: EscrowHarness;
let stranger: Keypair;
let mint: PublicKey;

beforeEach(() => {
  h = new EscrowHarness();
  stranger = h.wallet();
  mint = h.createMint(6);
});

/** initialize_config naming `admin` as the admin (and settlement authority, and treasury owner). */
function initialize(harness: EscrowHarness, admin: PublicKey): Promise<TransactionInstruction> {
  return harness.client.initializeConfig({
    admin,
    mint,
    treasury: harness.createTokenAccount(mint, admin),
    settlementAuthority: admin,
    feeBps: FEE_BPS,
    burnBps: BURN_BPS,
    reclaimGraceSeconds: GRACE_SECONDS,
  });
}

/** Refused with nothing changed: no config, the ProgramData and the signer's lamports as they were (the bank pays
 * the fee). */
function refused(harness: EscrowHarness, ix: Promise<TransactionInstruction>, signer: Keypair): Promise<string> {
  const watched = [harness.client.configAddress, harness.programData, signer.publicKey];
  return harness.refused(ix, [harness.bank, signer], watched);
}

test('a stranger front-running the deployer is refused; the upgrade authority then initializes the config', async () => {
  expect(await refused(h, initialize(h, stranger.publicKey), stranger)).toBe('NotUpgradeAuthority');
  expect(h.exists(h.client.configAddress)).toBe(false);

  const r = await h.ok(initialize(h, h.upgradeAuthority.publicKey), [h.upgradeAuthority]);
  expect(r.events.map((e) => e.name)).toEqual(['configInitialized']);
  const config = h.client.decodeConfig(h.data(h.client.configAddress));
  expect(config.admin.equals(h.upgradeAuthority.publicKey)).toBe(true);
});

test('naming the upgrade authority without its signature is refused', async () => {
  const ix = await initialize(h, h.upgradeAuthority.publicKey);
  ix.keys[0]!.isSigner = false;
  const watched = [h.client.configAddress, h.programData, h.upgradeAuthority.publicKey];
  expect(await h.refused(ix, [h.bank], watched)).toBe('MissingSignature');
  expect(h.exists(h.client.configAddress)).toBe(false);
});

test('a ProgramData account that is not this program’s is refused, whoever it names', async () => {
  const elf = readFileSync(PROGRAM_SO);
  // The stranger's own deployment of the same code: a genuine ProgramData, of another program.
  const own = deployUpgradeable(h.svm, { programId: Keypair.generate().publicKey, elf, upgradeAuthority: stranger.publicKey });
  // Look-alikes naming the stranger: owned by the loader at another address, or at any address by another owner.
  const forged = programDataBytes(elf, stranger.publicKey);
  const lookAlike = (owner: PublicKey) => {
    const address = Keypair.generate().publicKey;
    const lamports = Number(h.svm.minimumBalanceForRentExemption(BigInt(forged.length)));
    h.svm.setAccount(address, { lamports, data: forged, owner, executable: false });
    return address;
  };
  const substitutes = [own, lookAlike(UPGRADEABLE_LOADER_ID), lookAlike(SystemProgram.programId), lookAlike(h.programId),
    h.programId];
  for (const account of substitutes) {
    const ix = substitute(initialize(h, stranger.publicKey), PROGRAM_DATA, account);
    expect(await refused(h, ix, stranger)).toBe('InvalidProgramData');
  }
  // Nor does the real ProgramData help the stranger once its owner is not the loader (possible in LiteSVM only).
  const real = h.svm.getAccount(h.programData)!;
  h.svm.setAccount(h.programData, { ...real, data: forged, owner: SystemProgram.programId });
  expect(await refused(h, initialize(h, stranger.publicKey), stranger)).toBe('InvalidProgramData');
  expect(h.exists(h.client.configAddress)).toBe(false);
});

test('a program made immutable before its config was initialized can never be configured', async () => {
  const immutable = new EscrowHarness(undefined, { immutable: true });
  mint = immutable.createMint(6);
  for (const signer of [immutable.upgradeAuthority, immutable.wallet()]) {
    expect(await refused(immutable, initialize(immutable, signer.publicKey), signer)).toBe('ProgramImmutable');
  }
  expect(immutable.exists(immutable.client.configAddress)).toBe(false);
});

test('once initialized, the config is not initialized again, not even by the upgrade authority', async () => {
  await h.ok(initialize(h, h.upgradeAuthority.publicKey), [h.upgradeAuthority]);
  const before = h.data(h.client.configAddress);
  expect(await refused(h, initialize(h, h.upgradeAuthority.publicKey), h.upgradeAuthority)).toBe('AlreadyInitialized');
  expect(await refused(h, initialize(h, stranger.publicKey), stranger)).toBe('NotUpgradeAuthority');
  expect(h.data(h.client.configAddress)).toEqual(before);
});
