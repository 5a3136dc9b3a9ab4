/** JSON-RPC errors and the parameter checks every method shares; a bad parameter is -32602, never a crash. */
import { PublicKey } from '@solana/web3.js';
import { z } from 'zod';
import type { Chain } from './chain';

export const RPC_ERRORS = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** sendTransaction's preflight simulation failed (data: err, logs, unitsConsumed). */
  preflightFailed: -32002,
  signatureVerification: -32003,
  transactionHistoryNotAvailable: -32011,
} as const;

/** The agave release whose RPC this node imitates. */
export const API_VERSION = '2.2.0';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const invalidParams = (message: string) => new RpcError(RPC_ERRORS.invalidParams, message);

export function pubkeyParam(params: unknown[], index: number): PublicKey {
  const value = params[index];
  if (typeof value !== 'string') throw invalidParams(`Invalid param: expected a base58 public key at ${index}`);
  try {
    const key = new PublicKey(value);
    if (key.toBase58() !== value) throw new Error('not canonical');
    return key;
  } catch {
    throw invalidParams(`Invalid param: Invalid`);
  }
}

export function param<S extends z.ZodType>(params: unknown[], index: number, schema: S, name: string): z.output<S> {
  const parsed = schema.safeParse(params[index]);
  if (!parsed.success) throw invalidParams(`Invalid params: ${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** An optional config object: absent or null reads as `{}`. */
export function configParam<S extends z.ZodType>(params: unknown[], index: number, schema: S): z.output<S> {
  const raw = params[index];
  return param([raw === undefined || raw === null ? {} : raw], 0, schema, 'config');
}

export const commitmentFields = {
  commitment: z.enum(['processed', 'confirmed', 'finalized', 'recent', 'single', 'singleGossip', 'root', 'max'])
    .optional(),
  minContextSlot: z.number().int().nonnegative().optional(),
};
export const commitmentConfig = z.object(commitmentFields);

export interface WithContext<T> {
  context: { apiVersion: string; slot: number };
  value: T;
}

export function withContext<T>(slot: number, value: T): WithContext<T> {
  return { context: { apiVersion: API_VERSION, slot }, value };
}

/** One JSON-RPC method: its params array in, its `result` out; it throws RpcError to answer an error. */
export type RpcMethod = (params: unknown[], chain: Chain) => unknown;
