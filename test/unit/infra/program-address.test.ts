/** Cached derivations give the addresses the libraries derive, for every input, the second time as the first. */
import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Keypair, PublicKey } from '@solana/web3.js';
import { associatedTokenAddress, programAddress } from '../../../infra/solana/program-address';

test('programAddress is findProgramAddressSync, keyed by every seed and the program', () => {
  const program = Keypair.generate().publicKey;
  const other = Keypair.generate().publicKey;
  for (const seeds of [[Buffer.from('config')], [Buffer.from('lease'), Buffer.alloc(16, 7)], [Buffer.from('lease'), Buffer.alloc(16, 8)], [Buffer.from('leas'), Buffer.from('e')]]) {
    for (const id of [program, other]) {
      const expected = PublicKey.findProgramAddressSync(seeds, id)[0];
      expect(programAddress(seeds, id).equals(expected)).toBe(true);
      expect(programAddress(seeds, id).equals(expected)).toBe(true);
    }
  }
});

test('associatedTokenAddress is getAssociatedTokenAddressSync, the off-curve flag included', () => {
  const mint = Keypair.generate().publicKey;
  const owner = Keypair.generate().publicKey;
  expect(associatedTokenAddress(mint, owner).equals(getAssociatedTokenAddressSync(mint, owner))).toBe(true);
  expect(associatedTokenAddress(owner, mint).equals(getAssociatedTokenAddressSync(owner, mint))).toBe(true);
  // A program address as owner: refused unless allowed off the curve, every time.
  const pda = PublicKey.findProgramAddressSync([Buffer.from('x')], mint)[0];
  expect(() => associatedTokenAddress(mint, pda)).toThrow();
  expect(() => associatedTokenAddress(mint, pda)).toThrow();
  expect(associatedTokenAddress(mint, pda, true).equals(getAssociatedTokenAddressSync(mint, pda, true))).toBe(true);
});
