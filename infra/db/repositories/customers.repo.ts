/** Customers: who may create leases. API keys are shown once at creation and stored only as a hash. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateApiKey, hashApiKey } from '../../../domain/api-key';
import type { Customer, Database } from '../schema';

export interface CreatedCustomer {
  id: string;
  /** The only time the key exists outside its owner's hands. */
  apiKey: string;
}

export async function createCustomer(db: Kysely<Database>, name: string): Promise<CreatedCustomer> {
  const id = randomUUID();
  const apiKey = generateApiKey('cus');
  await db.insertInto('customers').values({ id, name, api_key_hash: hashApiKey(apiKey) }).execute();
  return { id, apiKey };
}

export async function findCustomerByApiKey(db: Kysely<Database>, apiKey: string): Promise<Customer | undefined> {
  return db.selectFrom('customers').selectAll().where('api_key_hash', '=', hashApiKey(apiKey)).executeTakeFirst();
}

/** The wallet the customer registered (base58), or null. */
export async function findCustomerWallet(db: Kysely<Database>, customerId: string): Promise<string | null> {
  const row = await db.selectFrom('customers').select('wallet_address').where('id', '=', customerId).executeTakeFirst();
  return row?.wallet_address ?? null;
}

/** Records the wallet the customer proved is its own; a new one replaces the old for leases opened from now on. */
export async function registerCustomerWallet(db: Kysely<Database>, customerId: string, wallet: string): Promise<void> {
  await db.updateTable('customers').set({ wallet_address: wallet, wallet_registered_at: new Date() }).where('id', '=', customerId).execute();
}
