/**
 * Signing a transaction once and getting it onto the chain over plain JSON-RPC, with an answer that says
 * exactly what became of it. A signed transaction is kept as bytes so that the very same transaction (same
 * signature) can be sent again after a crash: resending it can never pay twice, and it stops being able to
 * land at `lastValidBlockHeight`, which is what lets a caller decide that it is dead and sign a new one.
 * Confirmation polls getSignatureStatuses over HTTP (no WebSocket needed).
 */
import bs58 from 'bs58';
import {
  PACKET_DATA_SIZE,
  SendTransactionError,
  Transaction,
  type Connection,
  type Keypair,
  type TransactionError,
  type TransactionInstruction,
} from '@solana/web3.js';
import { nativeEd25519 } from '../crypto/native-ed25519';
import { escrowErrorName } from './escrow-client';

export interface SignedTransaction {
  signature: string;
  /** The serialized transaction, base64. */
  wire: string;
  /** The block height after which its blockhash is too old for it to land. */
  lastValidBlockHeight: number;
}

/** What the chain said no to. `landed`: it executed and failed (its signature is spent; nothing moved). */
export class TransactionFailure extends Error {
  override name = 'TransactionFailure';
  constructor(
    message: string,
    /** The program's error name (e.g. "RateExceeded"), "InsufficientFunds" for the token program, or the runtime's. */
    readonly reason: string,
    readonly landed: boolean,
    readonly logs: string[] = [],
  ) {
    super(message);
  }
}

export type Delivery =
  | { outcome: 'confirmed' }
  /** Its blockhash expired before it landed: it never will. */
  | { outcome: 'expired' }
  /** Refused before execution (preflight): nothing happened; the same bytes may be sent again later. */
  | { outcome: 'rejected'; failure: TransactionFailure }
  /** Executed and failed: nothing moved, and these bytes can never land. */
  | { outcome: 'failed'; failure: TransactionFailure };

/** Signs with a fresh blockhash; `feePayer` signs first and pays. */
export async function signTransaction(
  connection: Connection,
  feePayer: Keypair,
  instructions: TransactionInstruction[],
  otherSigners: Keypair[] = [],
): Promise<SignedTransaction> {
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash('confirmed');
  return signWithBlockhash({ blockhash, lastValidBlockHeight }, feePayer, instructions, otherSigners);
}

/** Private keys parsed once per Keypair (its secretKey getter copies, so the key's bytes are no cache key). */
const seeds = new WeakMap<Keypair, Uint8Array>();
const seedOf = (signer: Keypair): Uint8Array => {
  let seed = seeds.get(signer);
  if (!seed) seeds.set(signer, (seed = signer.secretKey.slice(0, 32)));
  return seed;
};

/**
 * The signed transaction over `instructions` at that blockhash: the bytes web3.js's `sign` and `serialize` give
 * (ed25519 is deterministic), each signature made by Node's OpenSSL and none checked again. web3.js signs in
 * JavaScript, re-verifies on serialize and compiles the message thrice: 23 of the control worker's 196 CPU-seconds
 * over a 300-lease run, against about 6 now.
 */
export function signWithBlockhash(
  { blockhash, lastValidBlockHeight }: { blockhash: string; lastValidBlockHeight: number },
  feePayer: Keypair,
  instructions: TransactionInstruction[],
  otherSigners: Keypair[] = [],
): SignedTransaction {
  const tx = new Transaction({ feePayer: feePayer.publicKey, blockhash, lastValidBlockHeight }).add(...instructions);
  const signers = [feePayer, ...otherSigners.filter((s) => !s.publicKey.equals(feePayer.publicKey))];
  // The message orders its signers (fee payer first); compiling it puts the signature slots in that order.
  tx.signatures = signers.map((s) => ({ publicKey: s.publicKey, signature: null }));
  const message = tx.serializeMessage();
  const signatures = tx.signatures.map((slot) => {
    const signer = signers.find((s) => s.publicKey.equals(slot.publicKey));
    if (!signer) throw new Error(`no signer for ${slot.publicKey.toBase58()}, which the transaction needs`);
    return Buffer.from(nativeEd25519.sign(message, seedOf(signer)), 'hex');
  });
  // The wire format (a compact-u16 count, the signatures, the message) written here rather than by serialize(),
  // which compiles the message a second time (base58 of every key: as costly as all the signing).
  if (signatures.length >= 0x80) throw new Error(`${signatures.length} signatures: more than a transaction holds`);
  const wire = Buffer.concat([Buffer.from([signatures.length]), ...signatures, message]);
  if (wire.length > PACKET_DATA_SIZE) throw new Error(`transaction too large: ${wire.length} bytes, at most ${PACKET_DATA_SIZE}`);
  return { signature: bs58.encode(signatures[0]!), wire: wire.toString('base64'), lastValidBlockHeight };
}

export interface DeliveryOptions {
  /** Between status polls. Default 150 ms. */
  pollMs?: number;
  /** Between sends of the same bytes while it has not landed (a cluster may drop it). Default 2 s. */
  resendMs?: number;
  /** The caller signed these bytes just now (not read back from the ledger): send before asking after them. */
  justSigned?: boolean;
}

/** How old a block height may be when it decides that a transaction unseen has expired. */
const HEIGHT_MAX_AGE_MS = 1_000;

/**
 * Sends `tx` (again, if it was sent before) until it is confirmed, refused, failed or expired. A height is read before
 * the status poll it is judged with (a transaction not seen after the height passed its last valid one can never
 * land), at most once a second: it decides expiry alone, about a minute out, which a second late does not change.
 * Bytes the caller has just signed are sent first: nothing can have landed them yet, and their blockhash is new.
 * A settlement on the local chain node takes 3 requests so, where the loop that read the height and the status
 * before every step took 5.
 */
export async function deliver(connection: Connection, tx: SignedTransaction, options: DeliveryOptions = {}): Promise<Delivery> {
  const pollMs = options.pollMs ?? 150;
  const resendMs = options.resendMs ?? 2_000;
  let lastSent = -Infinity;
  let height: { value: number; readAt: number } | undefined;
  const sendNow = async (): Promise<Delivery | undefined> => {
    lastSent = Date.now();
    const refusal = await send(connection, tx);
    if (refusal?.reason === 'BlockhashNotFound') return { outcome: 'expired' };
    // Already processed: the next status poll finds it.
    if (refusal !== undefined && refusal.reason !== 'AlreadyProcessed') return { outcome: 'rejected', failure: refusal };
    return undefined;
  };
  if (options.justSigned) {
    const refused = await sendNow();
    if (refused) return refused;
  }
  for (;;) {
    if (height === undefined || Date.now() - height.readAt >= HEIGHT_MAX_AGE_MS) {
      height = { value: await connection.getBlockHeight('confirmed'), readAt: Date.now() };
    }
    const status = await signatureStatus(connection, tx.signature);
    if (status !== null) {
      if (status.err !== null) return { outcome: 'failed', failure: failureOf(status.err, true) };
      if (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized') return { outcome: 'confirmed' };
    } else if (height.value > tx.lastValidBlockHeight) {
      return { outcome: 'expired' };
    } else if (Date.now() - lastSent >= resendMs) {
      const refused = await sendNow();
      if (refused) return refused;
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** One send of the signed bytes, with preflight; the refusal if the node refused it. */
export async function send(connection: Connection, tx: SignedTransaction): Promise<TransactionFailure | undefined> {
  try {
    await connection.sendRawTransaction(Buffer.from(tx.wire, 'base64'), { preflightCommitment: 'confirmed', maxRetries: 0 });
    return undefined;
  } catch (error) {
    if (!(error instanceof SendTransactionError)) throw error;
    return preflightFailure(error);
  }
}

export async function signatureStatus(connection: Connection, signature: string) {
  const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
  return value[0] ?? null;
}

/** SPL Token's error codes that a lease's transactions can meet (spl-token's TokenError order). */
const TOKEN_ERRORS: Record<number, string> = { 0: 'NotRentExempt', 1: 'InsufficientFunds', 2: 'InvalidMint',
  3: 'MintMismatch', 4: 'OwnerMismatch', 17: 'AccountFrozen' };

function customErrorName(code: number): string {
  return escrowErrorName(code) ?? TOKEN_ERRORS[code] ?? `CustomError${code}`;
}

function failureOf(err: TransactionError | object | string, landed: boolean, logs: string[] = []): TransactionFailure {
  let reason: string;
  if (typeof err === 'string') {
    reason = err;
  } else {
    const [name, value] = Object.entries(err)[0] ?? ['UnknownError', undefined];
    const inner = name === 'InstructionError' && Array.isArray(value) ? (value[1] as unknown) : undefined;
    reason = typeof inner === 'object' && inner !== null && 'Custom' in inner ? customErrorName(Number(inner.Custom))
      : typeof inner === 'string' ? inner : name;
  }
  return new TransactionFailure(`transaction ${landed ? 'failed' : 'refused'}: ${reason} (${JSON.stringify(err)})`, reason, landed, logs);
}

function preflightFailure(error: SendTransactionError): TransactionFailure {
  const message = error.transactionError.message;
  const logs = error.logs ?? [];
  const custom = /custom program error: 0x([0-9a-f]+)/i.exec(message);
  const reason = custom !== null ? customErrorName(parseInt(custom[1]!, 16))
    : /blockhash not found/i.test(message) ? 'BlockhashNotFound'
    : /already been processed/i.test(message) ? 'AlreadyProcessed'
    : /insufficient funds/i.test(message) ? 'InsufficientFundsForFee'
    : 'PreflightFailure';
  return new TransactionFailure(`transaction refused: ${reason}: ${message}`, reason, false, logs);
}
