/**
 * How a customer proves a wallet is its own (POST /v1/wallet): it signs one line naming its customer id and the
 * wallet with the wallet's key. The customer id in the line keeps one customer's signature from registering the
 * wallet for another; a replay only registers the same wallet for the same customer again. Any Solana client can
 * sign it: a wallet's signMessage signs the bytes as they are; `solana sign-offchain-message` wraps them in the
 * off-chain message envelope (version 0, restricted ASCII), which is accepted too.
 */
import { ed25519 } from '@noble/curves/ed25519';
import bs58 from 'bs58';

export function walletRegistrationMessage(customerId: string, wallet: string): string {
  return `lease-engine wallet registration: customer ${customerId} wallet ${wallet}`;
}

const OFFCHAIN_SIGNING_DOMAIN = Uint8Array.from([0xff, ...new TextEncoder().encode('solana offchain')]);

/** The off-chain message envelope v0 of `message`, format 0 (restricted ASCII: the line above always is). */
export function offchainMessageEnvelope(message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const header = new Uint8Array(OFFCHAIN_SIGNING_DOMAIN.length + 4);
  header.set(OFFCHAIN_SIGNING_DOMAIN);
  header[OFFCHAIN_SIGNING_DOMAIN.length] = 0; // version
  header[OFFCHAIN_SIGNING_DOMAIN.length + 1] = 0; // format: restricted ASCII
  new DataView(header.buffer).setUint16(OFFCHAIN_SIGNING_DOMAIN.length + 2, body.length, true);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

export type WalletProofProblem = { field: 'wallet' | 'signature'; message: string };

/** Null when `signature` (base58) is the wallet's signature of the registration line, else what is wrong. */
export function checkWalletProof(customerId: string, wallet: string, signature: string): WalletProofProblem | null {
  let key: Uint8Array;
  let sig: Uint8Array;
  try {
    key = bs58.decode(wallet);
  } catch {
    return { field: 'wallet', message: 'is not base58' };
  }
  if (key.length !== 32) return { field: 'wallet', message: `is ${key.length} bytes, not a 32-byte Solana address` };
  try {
    sig = bs58.decode(signature);
  } catch {
    return { field: 'signature', message: 'is not base58' };
  }
  if (sig.length !== 64) return { field: 'signature', message: `is ${sig.length} bytes, not a 64-byte ed25519 signature` };
  const message = walletRegistrationMessage(customerId, wallet);
  const candidates = [new TextEncoder().encode(message), offchainMessageEnvelope(message)];
  const valid = candidates.some((bytes) => {
    try {
      // Strict RFC 8032, as host keys (domain/host-key.ts): ZIP-215's leniency lets a small-order key such as
      // the all-zero address (11111111111111111111111111111111) "sign" every line with an all-zero signature,
      // which registered it for any customer (found by schemathesis).
      return ed25519.verify(sig, bytes, key, { zip215: false });
    } catch {
      return false;
    }
  });
  return valid ? null : { field: 'signature', message: `is not ${wallet}'s signature of "${message}"` };
}
