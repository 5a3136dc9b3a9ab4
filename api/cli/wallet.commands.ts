/**
 * `lease-engine wallet …`: the customer's own wallet, on the customer's machine (issue 8). The engine never holds a
 * customer key: these commands read the customer's keypair file here, sign the registration line for the API and
 * send approve/revoke transactions straight to Solana, as `solana sign-offchain-message` and `spl-token approve`
 * would. The delegate approved is always computed here from the program id (never taken from the API), so an API
 * that lied could not get an allowance for anyone but the escrow program's PDA of this wallet.
 */
import { readFileSync } from 'node:fs';
import { createApproveInstruction, createRevokeInstruction } from '@solana/spl-token';
import { Connection, Keypair, PublicKey, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { ed25519 } from '@noble/curves/ed25519';
import bs58 from 'bs58';
import type { Command } from 'commander';
import idl from '../../programs/lease_escrow/idl/lease_escrow.json';
import { parseTokenAmount } from '../../domain/money';
import { walletRegistrationMessage } from '../../domain/wallet-registration';
import type { WalletView } from '../schemas/wallet.schemas';
import { amount } from './args';
import type { CliIo, GlobalOptions } from './context';
import { clientOf, print } from './context';
import { CliError, EXIT } from './errors';

interface ChainOptions {
  keypair: string;
  rpcUrl?: string;
  programId?: string;
}

function readKeypairFile(file: string): Keypair {
  let bytes: unknown;
  try {
    bytes = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read the keypair file ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  if (!Array.isArray(bytes) || bytes.length !== 64) throw new CliError(`${file} is not a Solana CLI keypair (a JSON array of 64 bytes)`, EXIT.usage);
  return Keypair.fromSecretKey(Uint8Array.from(bytes as number[]));
}

function allowanceDelegate(wallet: PublicKey, programId: string | undefined): PublicKey {
  const program = new PublicKey(programId ?? idl.address);
  return PublicKey.findProgramAddressSync([Buffer.from('allowance'), wallet.toBuffer()], program)[0];
}

function walletText(w: WalletView): string {
  if (w.address === null) {
    return 'no wallet registered: `lease-engine wallet register --keypair <your keypair.json>`';
  }
  return [
    `wallet       ${w.address}`,
    `token acct   ${w.tokenAccount ?? '-'}`,
    `delegate     ${w.allowanceDelegate ?? '-'}   ${w.approved ? 'approved' : 'NOT approved'}`,
    `allowance    ${w.allowance}   balance ${w.balance}   the engine can draw ${w.spendable}`,
    ...(w.approved ? [] : ['approve with `lease-engine wallet approve --keypair <file> --amount <tokens>` or', `  ${w.approveWith ?? ''}`]),
  ].join('\n');
}

export function registerWalletCommands(program: Command, io: CliIo): void {
  const wallet = program.command('wallet').description('your Solana wallet and the allowance that funds your leases')
    .action(async (_opts: unknown, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const view = (await clientOf(options, io).request('GET', '/v1/wallet')) as WalletView;
      print(io, options, view, () => walletText(view));
    });

  wallet.command('register')
    .requiredOption('--keypair <file>', 'your wallet keypair (Solana CLI JSON); it signs here and never leaves this machine')
    .description('prove the wallet is yours (signs the registration line) and register it: your leases draw on its allowance')
    .action(async (opts: ChainOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const client = clientOf(options, io);
      const owner = readKeypairFile(opts.keypair);
      const address = owner.publicKey.toBase58();
      const shown = (await client.request('GET', `/v1/wallet?address=${address}`)) as WalletView;
      // The line is checked here before signing: only a registration for this wallet is ever signed.
      const line = shown.registrationMessage ?? '';
      const id = /^lease-engine wallet registration: customer (\S+) wallet (\S+)$/.exec(line);
      if (id === null || id[2] !== address || line !== walletRegistrationMessage(id[1]!, address)) {
        throw new CliError(`the API asked to sign "${line}", which is not a registration of ${address}; nothing was signed`);
      }
      const signature = bs58.encode(ed25519.sign(new TextEncoder().encode(line), owner.secretKey.slice(0, 32)));
      const view = (await client.request('POST', '/v1/wallet', { address, signature })) as WalletView;
      print(io, options, view, () => walletText(view));
    });

  const chainCommand = (name: string, description: string) => wallet.command(name)
    .requiredOption('--keypair <file>', 'your wallet keypair (Solana CLI JSON); it signs here and never leaves this machine')
    .option('--rpc-url <url>', 'Solana JSON-RPC (env SOLANA_RPC_URL; default the local chain node http://127.0.0.1:8899)')
    .option('--program-id <address>', 'the lease_escrow program (default: the one this CLI ships with)')
    .description(description);

  chainCommand('approve', 'approve an allowance: what the escrow program may draw from your token account for your leases, at most')
    .requiredOption('--amount <tokens>', 'the allowance in tokens, e.g. 250 (replaces any earlier one)', amount)
    .action(async (opts: ChainOptions & { amount: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const owner = readKeypairFile(opts.keypair);
      const view = (await clientOf(options, io).request('GET', '/v1/wallet')) as WalletView;
      if (view.address !== owner.publicKey.toBase58() || view.tokenAccount === null) {
        throw new CliError(`register this wallet first (lease-engine wallet register --keypair ${opts.keypair})`, EXIT.refused);
      }
      const delegate = allowanceDelegate(owner.publicKey, opts.programId);
      const tx = new Transaction().add(createApproveInstruction(new PublicKey(view.tokenAccount), delegate, owner.publicKey,
        parseTokenAmount(opts.amount)));
      const signature = await sendAndConfirmTransaction(connection(opts, io), tx, [owner], { commitment: 'confirmed' });
      print(io, options, { signature, delegate: delegate.toBase58(), allowance: opts.amount },
        () => `approved ${opts.amount} for ${delegate.toBase58()} (transaction ${signature})`);
    });

  chainCommand('revoke', 'revoke the allowance: no new deposit or top-up can be drawn; running leases end at their last funded second')
    .action(async (opts: ChainOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const owner = readKeypairFile(opts.keypair);
      const view = (await clientOf(options, io).request('GET', '/v1/wallet')) as WalletView;
      if (view.address !== owner.publicKey.toBase58() || view.tokenAccount === null) {
        throw new CliError(`${owner.publicKey.toBase58()} is not your registered wallet`, EXIT.refused);
      }
      const tx = new Transaction().add(createRevokeInstruction(new PublicKey(view.tokenAccount), owner.publicKey));
      const signature = await sendAndConfirmTransaction(connection(opts, io), tx, [owner], { commitment: 'confirmed' });
      print(io, options, { signature }, () => `allowance revoked (transaction ${signature})`);
    });
}

function connection(opts: ChainOptions, io: CliIo): Connection {
  return new Connection(opts.rpcUrl ?? io.env.SOLANA_RPC_URL ?? 'http://127.0.0.1:8899', 'confirmed');
}
