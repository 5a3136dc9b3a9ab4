/**
 * Where the engine gets a customer's signature for the transactions only a customer may sign (open_lease
 * moves the deposit out of the customer's token account; top_up with an extension).
 *
 * `FileCustomerWallets` is the demo's custodial wallet: one keypair per customer in the Solana CLI format
 * under `<dataDir>/keys/customers/<customerId>.json`, readable by any Solana client (so a customer can also
 * call `reclaim` itself with it). A production deployment replaces it: the customer signs the open_lease
 * transaction in its own wallet (the API hands it out partially signed), or approves a token delegate the
 * engine may spend up to the deposit, and the engine never holds a customer key.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Keypair, PublicKey } from '@solana/web3.js';
import { loadOrCreateKeypair, readKeypair } from './chain-node/keypair-file';

export interface CustomerWallets {
  /** The customer's wallet address, or null when it has none. */
  address(customerId: string): Promise<PublicKey | null>;
  /** The key that signs for the customer; throws when the customer has no wallet here. */
  signer(customerId: string): Promise<Keypair>;
}

export class CustomerWalletMissingError extends Error {
  override name = 'CustomerWalletMissingError';
}

export class FileCustomerWallets implements CustomerWallets {
  constructor(readonly dir: string) {}

  /** The keystore of a data directory: `<dataDir>/keys/customers/`. */
  static inDataDir(dataDir: string): FileCustomerWallets {
    return new FileCustomerWallets(path.join(dataDir, 'keys', 'customers'));
  }

  async address(customerId: string): Promise<PublicKey | null> {
    const file = this.file(customerId);
    return fs.existsSync(file) ? readKeypair(file).publicKey : null;
  }

  async signer(customerId: string): Promise<Keypair> {
    const file = this.file(customerId);
    if (!fs.existsSync(file)) throw new CustomerWalletMissingError(`customer ${customerId} has no wallet in ${this.dir}`);
    return readKeypair(file);
  }

  /** Creates the customer's wallet on first use; the same one ever after. */
  async create(customerId: string): Promise<Keypair> {
    return loadOrCreateKeypair(this.file(customerId));
  }

  /** Takes in an existing keypair (a demo customer made by the chain bootstrap); keeps the one already there. */
  async adopt(customerId: string, keypair: Keypair): Promise<Keypair> {
    const file = this.file(customerId);
    if (fs.existsSync(file)) return readKeypair(file);
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(Array.from(keypair.secretKey)), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
    return keypair;
  }

  private file(customerId: string): string {
    // Ids become file names: nothing that could leave the directory.
    if (!/^[A-Za-z0-9_-]+$/.test(customerId)) throw new Error(`customer id "${customerId}" cannot name a key file`);
    return path.join(this.dir, `${customerId}.json`);
  }
}
