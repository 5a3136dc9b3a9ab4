/**
 * Transactions signed through OpenSSL are byte for byte the ones web3.js signs itself (ed25519 is
 * deterministic), with every signer in the slot the message orders it into; a signer the message needs and
 * nobody gave is refused, not left blank.
 */
import { Keypair, SystemProgram, Transaction, TransactionInstruction } from '@solana/web3.js';
import { signWithBlockhash } from '../../../infra/solana/transaction-delivery';

const recent = { blockhash: Keypair.generate().publicKey.toBase58(), lastValidBlockHeight: 1234 };

function web3Signed(feePayer: Keypair, instructions: TransactionInstruction[], others: Keypair[]): string {
  const tx = new Transaction({ feePayer: feePayer.publicKey, ...recent }).add(...instructions);
  tx.sign(feePayer, ...others);
  return tx.serialize().toString('base64');
}

test('the same bytes as web3.js signs, whatever the signers and their order', () => {
  for (let i = 0; i < 20; i++) {
    const payer = Keypair.generate();
    const a = Keypair.generate();
    const b = Keypair.generate();
    const instructions = [
      SystemProgram.transfer({ fromPubkey: b.publicKey, toPubkey: payer.publicKey, lamports: 1 + i }),
      SystemProgram.transfer({ fromPubkey: a.publicKey, toPubkey: b.publicKey, lamports: 2 + i }),
      new TransactionInstruction({ programId: Keypair.generate().publicKey, keys: [], data: Buffer.from([i]) }),
    ];
    const ours = signWithBlockhash(recent, payer, instructions, [a, b, payer]);
    expect(ours.wire).toBe(web3Signed(payer, instructions, [a, b]));
    expect(ours.lastValidBlockHeight).toBe(1234);
    // And it verifies as web3.js reads it back.
    expect(Transaction.from(Buffer.from(ours.wire, 'base64')).verifySignatures()).toBe(true);
  }
});

test('a signer the message needs and was not given is refused', () => {
  const payer = Keypair.generate();
  const absent = Keypair.generate();
  const transfer = SystemProgram.transfer({ fromPubkey: absent.publicKey, toPubkey: payer.publicKey, lamports: 1 });
  expect(() => signWithBlockhash(recent, payer, [transfer])).toThrow(absent.publicKey.toBase58());
});

test('a transaction over the packet size is refused, as web3.js refuses it', () => {
  const payer = Keypair.generate();
  const big = new TransactionInstruction({ programId: Keypair.generate().publicKey, keys: [], data: Buffer.alloc(1200) });
  expect(() => web3Signed(payer, [big], [])).toThrow(/too large/i);
  expect(() => signWithBlockhash(recent, payer, [big])).toThrow(/too large/);
});
