/**
 * Writes: sendTransaction (with a validator's preflight unless skipped), simulateTransaction, requestAirdrop,
 * and the fee of a message. A refused preflight is error -32002 carrying `err` and `logs`, which is how
 * web3.js and Anchor show a program's logs and find its named error.
 */
import bs58 from 'bs58';
import { VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { z } from 'zod';
import type { SimulationOutcome } from '../chain';
import { accountConfig, encodeAccount } from '../account-encoding';
import {
  RPC_ERRORS,
  RpcError,
  commitmentFields,
  configParam,
  invalidParams,
  param,
  pubkeyParam,
  withContext,
  type RpcMethod,
} from '../rpc-params';
import { baseFee } from '../transaction-meta';
import { describeTransactionError } from '../transaction-error';

const encodingField = { encoding: z.enum(['base58', 'base64']).optional() };
const sendConfig = z.object({
  ...encodingField,
  skipPreflight: z.boolean().optional(),
  preflightCommitment: commitmentFields.commitment,
  maxRetries: z.number().int().nonnegative().optional(),
  minContextSlot: commitmentFields.minContextSlot,
});
const simulateConfig = z.object({
  ...commitmentFields,
  ...encodingField,
  sigVerify: z.boolean().optional(),
  replaceRecentBlockhash: z.boolean().optional(),
  innerInstructions: z.boolean().optional(),
  accounts: z.object({ encoding: accountConfig.shape.encoding, addresses: z.array(z.string()) }).optional(),
});

/** Base58 unless the config says base64, as the RPC spec has it. */
function decodeWire(params: unknown[], encoding: 'base58' | 'base64' | undefined): Buffer {
  const text = param(params, 0, z.string(), 'transaction');
  try {
    return encoding === 'base64' ? Buffer.from(text, 'base64') : Buffer.from(bs58.decode(text));
  } catch {
    throw invalidParams(`Invalid params: transaction is not valid ${encoding ?? 'base58'}`);
  }
}

function decodeTransaction(params: unknown[], encoding: 'base58' | 'base64' | undefined): VersionedTransaction {
  try {
    const tx = VersionedTransaction.deserialize(decodeWire(params, encoding));
    if (tx.signatures.length === 0) throw new Error('no signatures');
    return tx;
  } catch (error) {
    if (error instanceof RpcError) throw error;
    const reason = (error as Error).message;
    throw invalidParams(`failed to deserialize solana_transaction::versioned::VersionedTransaction: ${reason}`);
  }
}

function preflightFailure(outcome: Pick<SimulationOutcome, 'err' | 'logs' | 'unitsConsumed'>): RpcError {
  if (outcome.err === 'SignatureFailure') {
    return new RpcError(RPC_ERRORS.signatureVerification, 'Transaction signature verification failure');
  }
  const message = `Transaction simulation failed: ${describeTransactionError(outcome.err!)}`;
  return new RpcError(RPC_ERRORS.preflightFailed, message, {
    accounts: null,
    err: outcome.err,
    innerInstructions: null,
    logs: outcome.logs,
    replacementBlockhash: null,
    returnData: null,
    unitsConsumed: outcome.unitsConsumed,
  });
}

export const transactionMethods: Record<string, RpcMethod> = {
  sendTransaction: (params, chain) => {
    const config = configParam(params, 1, sendConfig);
    const tx = decodeTransaction(params, config.encoding);
    const signature = bs58.encode(tx.signatures[0]!);
    if (config.skipPreflight !== true) {
      const simulated = chain.simulate(tx, { sigVerify: true, replaceRecentBlockhash: false });
      if (simulated.err !== null) throw preflightFailure(simulated);
    }
    const outcome = chain.execute(tx);
    if (outcome.err === 'SignatureFailure') throw preflightFailure({ ...outcome, unitsConsumed: 0 });
    // Skipping preflight means accepting that a refused transaction is silently dropped, as on a cluster.
    return signature;
  },
  simulateTransaction: (params, chain) => {
    const config = configParam(params, 1, simulateConfig);
    const tx = decodeTransaction(params, config.encoding);
    const replace = config.replaceRecentBlockhash === true;
    if (replace && config.sigVerify === true) {
      throw invalidParams('Invalid params: sigVerify may not be used with replaceRecentBlockhash');
    }
    const addresses = config.accounts?.addresses.map((_, i, all) => pubkeyParam(all, i));
    const outcome = chain.simulate(tx, { sigVerify: config.sigVerify === true, replaceRecentBlockhash: replace,
      accounts: addresses });
    const slot = chain.tick();
    const accountEncoding = { encoding: config.accounts?.encoding ?? 'base64' } as const;
    return withContext(slot, {
      err: outcome.err,
      logs: outcome.logs,
      accounts: outcome.accounts?.map((a) => (a === null ? null : encodeAccount(chain, a, accountEncoding))) ?? null,
      unitsConsumed: outcome.unitsConsumed,
      returnData: outcome.returnData,
      innerInstructions: config.innerInstructions === true ? outcome.innerInstructions : null,
      replacementBlockhash: replace ? chain.clock.latestBlockhash() : null,
    });
  },
  requestAirdrop: (params, chain) => {
    const to = pubkeyParam(params, 0);
    const lamports = param(params, 1, z.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'lamports');
    const outcome = chain.airdrop(to, BigInt(lamports));
    if (outcome.record === null) {
      throw new RpcError(RPC_ERRORS.internal, `airdrop failed: ${describeTransactionError(outcome.err!)}`);
    }
    return outcome.record.signature;
  },
  getFeeForMessage: (params, chain) => {
    const text = param(params, 0, z.string(), 'message');
    configParam(params, 1, z.object(commitmentFields));
    let message: VersionedMessage;
    try {
      message = VersionedMessage.deserialize(Buffer.from(text, 'base64'));
    } catch (error) {
      throw invalidParams(`Invalid params: message could not be decoded: ${(error as Error).message}`);
    }
    const slot = chain.tick();
    const known = chain.clock.blockhashSlot(message.recentBlockhash) !== undefined;
    return withContext(slot, known ? baseFee(message) : null);
  },
};

