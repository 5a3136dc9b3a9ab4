/** Providers: who may register hosts. Their tier is certified by operators, never claimed by a host. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateApiKey, hashApiKey } from '../../../domain/api-key';
import type { Tier } from '../../../domain/tier';
import type { Database, Provider } from '../schema';

export interface CreatedProvider {
  id: string;
  apiKey: string;
  tier: Tier;
}

export async function createProvider(db: Kysely<Database>, name: string, tier: Tier): Promise<CreatedProvider> {
  const id = randomUUID();
  const apiKey = generateApiKey('prv');
  await db.insertInto('providers').values({ id, name, tier, api_key_hash: hashApiKey(apiKey) }).execute();
  return { id, apiKey, tier };
}

export async function findProviderByApiKey(db: Kysely<Database>, apiKey: string): Promise<Provider | undefined> {
  return db.selectFrom('providers').selectAll().where('api_key_hash', '=', hashApiKey(apiKey)).executeTakeFirst();
}
