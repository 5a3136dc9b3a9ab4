/**
 * The lease_escrow program, freshly built, running in LiteSVM under the upgradeable loader (with an upgrade
 * authority, the deployer, unless immutable): Anchor-built instructions go in as web3.js transactions, and each
 * result comes back with its logs, compute units, decoded events, or the program's named error (or the SPL Token
 * program's, when it refused a transfer the program asked for). Also the SPL Token fixtures the tests need (a
 * 6-decimal mint, token accounts, balances, delegations) and snapshots of accounts, to show that a refused
 * transaction changed nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ACCOUNT_SIZE,
  MINT_SIZE,
  TOKEN_PROGRAM_ID,
  createInitializeAccount3Instruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  unpackAccount,
  unpackMint,
} from '@solana/spl-token';
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  type PublicKey,
  SystemProgram,
  Transaction,
  type TransactionInstruction,
} from '@solana/web3.js';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import {
  EscrowClient,
  LEASE_ESCROW_PROGRAM_ID,
  escrowErrorName,
  type EscrowEvent,
} from '../../../infra/solana/escrow-client';
import { deployUpgradeable } from '../../../infra/solana/chain-node/upgradeable-program';

const ROOT = path.resolve(__dirname, '../../..');
export const PROGRAM_SO = path.join(ROOT, 'programs/lease_escrow/target/deploy/lease_escrow.so');

/** Anchor's framework errors that the program raises with Anchor's codes. */
const ANCHOR_LANG_ERRORS: Record<number, string> = {
  100: 'InstructionMissing',
  101: 'InstructionFallbackNotFound',
  102: 'InstructionDidNotDeserialize',
  3005: 'AccountNotEnoughKeys',
};

/** The SPL Token program's errors that a draw on an allowance meets (spl-token's `TokenError`, by code). */
const TOKEN_ERRORS: Record<number, string> = { 1: 'InsufficientFunds', 4: 'OwnerMismatch', 17: 'AccountFrozen' };

export type SendResult =
  | { ok: true; logs: string[]; computeUnits: bigint; events: EscrowEvent[]; bytes: number }
  | { ok: false; logs: string[]; error: string };

/** Builds the program if its sources changed (seconds when they did not). */
export function buildProgram(): void {
  execFileSync('bash', [path.join(ROOT, 'scripts/build-program.sh')], { stdio: 'pipe' });
}

export interface HarnessOptions {
  /** Deploy with no upgrade authority (as after `solana program set-upgrade-authority --final`). */
  immutable?: boolean;
}

export class EscrowHarness {
  readonly svm = new LiteSVM();
  /** Pays for fixtures; never a party to a lease. */
  readonly bank = Keypair.generate();
  /** The deployer, funded: the program's upgrade authority (unless immutable), the only key that may initialize the
   * config. */
  readonly upgradeAuthority = Keypair.generate();
  readonly programData: PublicKey;
  readonly client: EscrowClient;

  constructor(readonly programId: PublicKey = LEASE_ESCROW_PROGRAM_ID, options: HarnessOptions = {}) {
    // Under the upgradeable loader, as `solana program deploy` leaves it.
    const upgradeAuthority = options.immutable ? null : this.upgradeAuthority.publicKey;
    this.programData = deployUpgradeable(this.svm, { programId, elf: readFileSync(PROGRAM_SO), upgradeAuthority });
    // Builders never touch the network; the connection only satisfies Anchor's provider.
    this.client = new EscrowClient(new Connection('http://127.0.0.1:1'), programId);
    this.svm.airdrop(this.bank.publicKey, 1_000n * BigInt(LAMPORTS_PER_SOL));
    this.svm.airdrop(this.upgradeAuthority.publicKey, 10n * BigInt(LAMPORTS_PER_SOL));
    this.setTime(1_700_000_000n);
  }

  get now(): bigint {
    return this.svm.getClock().unixTimestamp;
  }

  setTime(unixTimestamp: bigint): void {
    const clock = this.svm.getClock();
    clock.unixTimestamp = unixTimestamp;
    this.svm.setClock(clock);
  }

  advance(seconds: number | bigint): void {
    this.setTime(this.now + BigInt(seconds));
  }

  /** A keypair with SOL for fees and rent (`keypair` when given, else a new one). */
  wallet(sol = 10, keypair = Keypair.generate()): Keypair {
    this.svm.airdrop(keypair.publicKey, BigInt(sol * LAMPORTS_PER_SOL));
    return keypair;
  }

  /** Sends one transaction; the first signer pays the fee. A fresh blockhash each time, so a replay is a replay
   * of the instruction, not a duplicate signature that the runtime would drop before the program saw it. */
  send(instructions: TransactionInstruction[], signers: Keypair[]): SendResult {
    const tx = new Transaction().add(...instructions);
    tx.recentBlockhash = this.svm.latestBlockhash();
    tx.feePayer = signers[0]!.publicKey;
    tx.sign(...signers);
    const result = this.svm.sendTransaction(tx);
    this.svm.expireBlockhash();
    if (result instanceof FailedTransactionMetadata) {
      const logs = result.meta().logs();
      return { ok: false, logs, error: describeError(result, logs) };
    }
    const logs = result.logs();
    const events = this.client.parseEvents(logs);
    return { ok: true, logs, computeUnits: result.computeUnitsConsumed(), events, bytes: tx.serialize().length };
  }

  /** Sends and insists on success. */
  async ok(instruction: Promise<TransactionInstruction>, signers: Keypair[]): Promise<SendResult & { ok: true }> {
    const result = this.send([await instruction], signers);
    if (!result.ok) throw new Error(`expected success, got ${result.error}\n${result.logs.join('\n')}`);
    return result;
  }

  /** Sends and returns the error's name (or throws if the transaction succeeded). */
  async fails(instruction: Promise<TransactionInstruction>, signers: Keypair[]): Promise<string> {
    const result = this.send([await instruction], signers);
    if (result.ok) throw new Error(`expected a failure, but it succeeded\n${result.logs.join('\n')}`);
    return result.error;
  }

  /** Sends an instruction that must be refused: returns the error's name, and throws if any of `watched`
   * changed (lamports, owner or data). */
  async refused(
    instruction: Promise<TransactionInstruction> | TransactionInstruction,
    signers: Keypair[],
    watched: PublicKey[],
  ): Promise<string> {
    const before = this.snapshot(watched);
    const result = this.send([await instruction], signers);
    if (result.ok) throw new Error(`expected a refusal, but it succeeded\n${result.logs.join('\n')}`);
    if (this.snapshot(watched) !== before) throw new Error(`refused with ${result.error}, yet the state changed`);
    return result.error;
  }

  createMint(decimals = 6, authority: PublicKey = this.bank.publicKey): PublicKey {
    const mint = Keypair.generate();
    const lamports = Number(this.svm.minimumBalanceForRentExemption(BigInt(MINT_SIZE)));
    this.setup(
      [
        SystemProgram.createAccount({
          fromPubkey: this.bank.publicKey,
          newAccountPubkey: mint.publicKey,
          lamports,
          space: MINT_SIZE,
          programId: TOKEN_PROGRAM_ID,
        }),
        createInitializeMint2Instruction(mint.publicKey, decimals, authority, null),
      ],
      [mint],
    );
    return mint.publicKey;
  }

  createTokenAccount(mint: PublicKey, owner: PublicKey, amount = 0n): PublicKey {
    const account = Keypair.generate();
    const lamports = Number(this.svm.minimumBalanceForRentExemption(BigInt(ACCOUNT_SIZE)));
    const instructions = [
      SystemProgram.createAccount({
        fromPubkey: this.bank.publicKey,
        newAccountPubkey: account.publicKey,
        lamports,
        space: ACCOUNT_SIZE,
        programId: TOKEN_PROGRAM_ID,
      }),
      createInitializeAccount3Instruction(account.publicKey, mint, owner),
    ];
    if (amount > 0n) instructions.push(createMintToInstruction(mint, account.publicKey, this.bank.publicKey, amount));
    this.setup(instructions, [account]);
    return account.publicKey;
  }

  mintTo(mint: PublicKey, account: PublicKey, amount: bigint): void {
    this.setup([createMintToInstruction(mint, account, this.bank.publicKey, amount)], []);
  }

  /** The delegate of a token account and what it may still move. */
  delegation(tokenAccount: PublicKey): { delegate: PublicKey | null; amount: bigint } {
    const info = this.svm.getAccount(tokenAccount);
    if (info === null) throw new Error(`no token account ${tokenAccount.toBase58()}`);
    const account = unpackAccount(tokenAccount, { ...info, data: Buffer.from(info.data) });
    return { delegate: account.delegate, amount: account.delegatedAmount };
  }

  /** Token balance in base units; 0 for an account that does not exist (a closed vault). */
  balance(tokenAccount: PublicKey): bigint {
    const info = this.svm.getAccount(tokenAccount);
    if (info === null || info.data.length === 0) return 0n;
    return unpackAccount(tokenAccount, { ...info, data: Buffer.from(info.data) }).amount;
  }

  supply(mint: PublicKey): bigint {
    const info = this.svm.getAccount(mint);
    if (info === null) throw new Error(`no mint ${mint.toBase58()}`);
    return unpackMint(mint, { ...info, data: Buffer.from(info.data) }).supply;
  }

  exists(address: PublicKey): boolean {
    const info = this.svm.getAccount(address);
    return info !== null && info.lamports > 0;
  }

  data(address: PublicKey): Buffer {
    const info = this.svm.getAccount(address);
    if (info === null) throw new Error(`no account ${address.toBase58()}`);
    return Buffer.from(info.data);
  }

  /** Lamports, owner and data of each account: equal snapshots mean nothing about them changed. */
  snapshot(addresses: PublicKey[]): string {
    return JSON.stringify(
      addresses.map((address) => {
        const info = this.svm.getAccount(address);
        if (info === null) return [address.toBase58(), null];
        return [address.toBase58(), info.lamports, info.owner.toBase58(), Buffer.from(info.data).toString('base64')];
      }),
    );
  }

  private setup(instructions: TransactionInstruction[], signers: Keypair[]): void {
    const result = this.send(instructions, [this.bank, ...signers]);
    if (!result.ok) throw new Error(`fixture transaction failed: ${result.error}\n${result.logs.join('\n')}`);
  }
}

/** The program's error name for a custom error, `token:<name>` when the SPL Token program raised it in a call the
 * program made (a draw the delegation does not allow), else the runtime's description. */
function describeError(failed: FailedTransactionMetadata, logs: string[]): string {
  const err = failed.err();
  // e.g. "TransactionErrorInstructionError { index: 0, error: InstructionErrorCustom { code: 6016 } }"
  const custom = /Custom(?:\(| \{ code: )(\d+)/.exec(err.toString());
  if (custom !== null) {
    const code = Number(custom[1]);
    const tokenFailed = `Program ${TOKEN_PROGRAM_ID.toBase58()} failed: custom program error: 0x${code.toString(16)}`;
    if (logs.includes(tokenFailed)) return `token:${TOKEN_ERRORS[code] ?? code}`;
    return escrowErrorName(code) ?? ANCHOR_LANG_ERRORS[code] ?? `Custom(${code})`;
  }
  return err.toString();
}
