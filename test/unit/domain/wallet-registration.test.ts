import { ed25519 } from '@noble/curves/ed25519';
import bs58 from 'bs58';
import { checkWalletProof, offchainMessageEnvelope, walletRegistrationMessage } from '../../../domain/wallet-registration';

const secret = ed25519.utils.randomSecretKey();
const wallet = bs58.encode(ed25519.getPublicKey(secret));
const sign = (bytes: Uint8Array, key = secret) => bs58.encode(ed25519.sign(bytes, key));
const line = (customerId: string) => new TextEncoder().encode(walletRegistrationMessage(customerId, wallet));

describe('wallet registration', () => {
  it('accepts the wallet’s signature of its registration line, as raw bytes or as an off-chain message', () => {
    expect(checkWalletProof('c1', wallet, sign(line('c1')))).toBeNull();
    expect(checkWalletProof('c1', wallet, sign(offchainMessageEnvelope(walletRegistrationMessage('c1', wallet))))).toBeNull();
  });

  it('refuses another customer’s line: one customer’s signature never registers the wallet for another', () => {
    expect(checkWalletProof('c2', wallet, sign(line('c1')))).toMatchObject({ field: 'signature' });
  });

  it('refuses another key’s signature, and says which field is wrong', () => {
    const other = ed25519.utils.randomSecretKey();
    expect(checkWalletProof('c1', wallet, sign(line('c1'), other))).toMatchObject({ field: 'signature' });
    expect(checkWalletProof('c1', 'not-base58-0OIl', sign(line('c1')))).toMatchObject({ field: 'wallet', message: 'is not base58' });
    expect(checkWalletProof('c1', bs58.encode(new Uint8Array(31)), sign(line('c1')))).toMatchObject({ field: 'wallet' });
    expect(checkWalletProof('c1', wallet, bs58.encode(new Uint8Array(63)))).toMatchObject({ field: 'signature' });
  });

  it('refuses a small-order key, whose all-zero "signature" would verify any line under ZIP-215', () => {
    const zero = bs58.encode(new Uint8Array(32));
    expect(zero).toBe('11111111111111111111111111111111');
    expect(checkWalletProof('c1', zero, bs58.encode(new Uint8Array(64)))).toMatchObject({ field: 'signature' });
  });

  it('writes the off-chain envelope as the Solana CLI signs it: domain, version 0, restricted ASCII, little-endian length', () => {
    const envelope = offchainMessageEnvelope('abc');
    expect(Array.from(envelope.slice(0, 16))).toEqual([0xff, ...Buffer.from('solana offchain')]);
    expect(Array.from(envelope.slice(16, 20))).toEqual([0, 0, 3, 0]);
    expect(Buffer.from(envelope.slice(20)).toString()).toBe('abc');
  });
});
