/**
 * First start of a chain for the demo, through JSON-RPC only (so it runs against the local node or any
 * cluster where lease_escrow is deployed): the payment mint (6 decimals, minted by a faucet key), the treasury
 * token account, the settlement authority, the escrow Config, and funded demo customers. Every step checks
 * the chain first, so running it again (or after a crash half-way) finishes the job and changes nothing else.
 * Keys live under `<dataDir>/keys/` in the Solana CLI format; the addresses go to `<dataDir>/solana.json`.
 *
 * Economics chosen for the demo: a 5 % fee on every payout (500 bps), a fifth of it burned (2,000 bps of the
 * fee), so a provider gets 95 %, the treasury 4 %, and 1 % is burned; a customer may reclaim its deposit alone
 * two hours after the lease's end, the shortest grace the program accepts (MIN_RECLAIM_GRACE_SECONDS).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  MINT_SIZE,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import {
  Connection,
  LAMPORTS_PER_SOL,
  SystemProgram,
  Transaction,
  sendAndConfirmTransaction,
  type Keypair,
  type PublicKey,
  type TransactionInstruction,
} from '@solana/web3.js';
import { EscrowClient, LEASE_ESCROW_PROGRAM_ID, MIN_RECLAIM_GRACE_SECONDS, programDataAddress } from './escrow-client';
import { ESCROW_ADMIN_KEY, loadOrCreateKeypair } from './chain-node/keypair-file';
import { upgradeAuthorityOf } from './chain-node/upgradeable-program';

export const PAYMENT_DECIMALS = 6;

export interface BootstrapOptions {
  rpcUrl: string;
  /** Default: the RPC port + 1, as web3.js derives it. */
  wsUrl?: string;
  dataDir: string;
  programId?: PublicKey;
  customerCount?: number;
  /** Whole tokens minted to each new customer. */
  tokensPerCustomer?: bigint;
  feeBps?: number;
  burnBps?: number;
  reclaimGraceSeconds?: bigint;
}

export interface SolanaBootstrap {
  rpcUrl: string;
  wsUrl: string;
  programId: string;
  config: string;
  mint: string;
  decimals: number;
  treasury: string;
  settlementAuthority: string;
  admin: string;
  feeBps: number;
  burnBps: number;
  reclaimGraceSeconds: number;
  /** Where the keypair files are: settlement-authority.json, escrow-admin.json, faucet.json, customer-N.json. */
  keysDir: string;
  customers: { name: string; wallet: string; tokenAccount: string; keypairPath: string }[];
}

export async function bootstrapSolana(options: BootstrapOptions): Promise<SolanaBootstrap> {
  const wsUrl = options.wsUrl ?? defaultWsUrl(options.rpcUrl);
  const connection = new Connection(options.rpcUrl, { commitment: 'confirmed', wsEndpoint: wsUrl });
  const client = new EscrowClient(connection, options.programId ?? LEASE_ESCROW_PROGRAM_ID);
  const program = await connection.getAccountInfo(client.programId);
  if (program === null || !program.executable) {
    throw new Error(`program ${client.programId.toBase58()} is not deployed at ${options.rpcUrl}`);
  }
  const keysDir = path.join(options.dataDir, 'keys');
  const key = (name: string) => loadOrCreateKeypair(path.join(keysDir, `${name}.json`));
  const faucet = key('faucet');
  // The program's upgrade authority, as the local chain node deployed it (it made this key): only it may initialize
  // the Config.
  const admin = key(ESCROW_ADMIN_KEY);
  const settlementAuthority = key('settlement-authority');
  const treasuryOwner = key('treasury');
  const mint = key('payment-mint');
  const customers = Array.from({ length: options.customerCount ?? 3 }, (_, i) => ({ name: `customer-${i + 1}`,
    keypair: key(`customer-${i + 1}`) }));

  const send = (instructions: TransactionInstruction[], signers: Keypair[]) =>
    sendAndConfirmTransaction(connection, new Transaction().add(...instructions), signers);
  const exists = async (address: PublicKey) => (await connection.getAccountInfo(address)) !== null;

  const sol: [Keypair, number][] = [[faucet, 10], [admin, 10], [settlementAuthority, 100],
    ...customers.map((c): [Keypair, number] => [c.keypair, 10])];
  for (const [holder, amount] of sol) await fundSol(connection, holder.publicKey, amount);

  if (!(await exists(mint.publicKey))) {
    const lamports = await connection.getMinimumBalanceForRentExemption(MINT_SIZE);
    await send([
      SystemProgram.createAccount({ fromPubkey: faucet.publicKey, newAccountPubkey: mint.publicKey, lamports,
        space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(mint.publicKey, PAYMENT_DECIMALS, faucet.publicKey, null),
    ], [faucet, mint]);
  }
  const ata = (owner: PublicKey) => getAssociatedTokenAddressSync(mint.publicKey, owner);
  const treasury = ata(treasuryOwner.publicKey);
  if (!(await exists(treasury))) {
    await send([createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, treasury,
      treasuryOwner.publicKey, mint.publicKey)], [faucet]);
  }

  const settings = { feeBps: options.feeBps ?? 500, burnBps: options.burnBps ?? 2_000,
    reclaimGraceSeconds: options.reclaimGraceSeconds ?? MIN_RECLAIM_GRACE_SECONDS };
  const existing = await client.fetchConfig();
  if (existing === null) {
    await checkUpgradeAuthority(connection, client.programId, admin.publicKey, keysDir);
    await send([await client.initializeConfig({ admin: admin.publicKey, mint: mint.publicKey, treasury,
      settlementAuthority: settlementAuthority.publicKey, ...settings })], [admin]);
  } else if (
    !existing.mint.equals(mint.publicKey) ||
    !existing.settlementAuthority.equals(settlementAuthority.publicKey)
  ) {
    throw new Error(`the escrow config ${client.configAddress.toBase58()} was set up with other keys than ${keysDir}`);
  }
  const config = existing ?? { ...settings, treasury };

  const units = (options.tokensPerCustomer ?? 10_000n) * 10n ** BigInt(PAYMENT_DECIMALS);
  for (const { keypair } of customers) {
    const account = ata(keypair.publicKey);
    // Funded once, in the transaction that creates the account: a restart never mints again.
    if (await exists(account)) continue;
    await send([
      createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, account, keypair.publicKey, mint.publicKey),
      createMintToInstruction(mint.publicKey, account, faucet.publicKey, units),
    ], [faucet]);
  }

  const result: SolanaBootstrap = {
    rpcUrl: options.rpcUrl,
    wsUrl,
    programId: client.programId.toBase58(),
    config: client.configAddress.toBase58(),
    mint: mint.publicKey.toBase58(),
    decimals: PAYMENT_DECIMALS,
    treasury: config.treasury.toBase58(),
    settlementAuthority: settlementAuthority.publicKey.toBase58(),
    admin: admin.publicKey.toBase58(),
    feeBps: config.feeBps,
    burnBps: config.burnBps,
    reclaimGraceSeconds: Number(config.reclaimGraceSeconds),
    keysDir: path.resolve(keysDir),
    customers: customers.map(({ name, keypair }) => ({ name, wallet: keypair.publicKey.toBase58(),
      tokenAccount: ata(keypair.publicKey).toBase58(), keypairPath: path.resolve(keysDir, `${name}.json`) })),
  };
  const file = path.join(options.dataDir, 'solana.json');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
  return result;
}

/** The program refuses initialize_config from any key but its upgrade authority: say which key it wants, before
 * sending. */
async function checkUpgradeAuthority(connection: Connection, programId: PublicKey, admin: PublicKey, keysDir: string) {
  const info = await connection.getAccountInfo(programDataAddress(programId));
  const authority = info === null ? undefined : upgradeAuthorityOf(info.data);
  if (authority === undefined) {
    throw new Error(`program ${programId.toBase58()} is not deployed under the upgradeable loader: no key may initialize its Config`);
  }
  if (authority === null || !authority.equals(admin)) {
    const holder = authority === null ? 'none: the program is immutable' : authority.toBase58();
    throw new Error(`the escrow admin ${admin.toBase58()} (${keysDir}/${ESCROW_ADMIN_KEY}.json) is not the upgrade ` +
      `authority of program ${programId.toBase58()} (${holder}), the only key that may initialize its Config`);
  }
}

/** Tops a wallet up to `sol` when it holds less than half of it. */
async function fundSol(connection: Connection, to: PublicKey, sol: number): Promise<void> {
  const balance = await connection.getBalance(to);
  if (balance >= (sol * LAMPORTS_PER_SOL) / 2) return;
  const signature = await connection.requestAirdrop(to, sol * LAMPORTS_PER_SOL - balance);
  const latest = await connection.getLatestBlockhash();
  await connection.confirmTransaction({ signature, ...latest }, 'confirmed');
}

export function defaultWsUrl(rpcUrl: string): string {
  const url = new URL(rpcUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.port !== '') url.port = String(Number(url.port) + 1);
  return url.toString().replace(/\/$/, '');
}
