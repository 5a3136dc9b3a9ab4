/** Operators: who may read the whole fleet and market. Keys are shown once at creation and stored only as a hash. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateApiKey, hashApiKey } from '../../../domain/api-key';
import type { Database, Operator } from '../schema';

export interface CreatedOperator {
  id: string;
  /** The only time the key exists outside its owner's hands. */
  apiKey: string;
}

export async function createOperator(db: Kysely<Database>, name: string): Promise<CreatedOperator> {
  const id = randomUUID();
  const apiKey = generateApiKey('opr');
  await db.insertInto('operators').values({ id, name, api_key_hash: hashApiKey(apiKey) }).execute();
  return { id, apiKey };
}

export async function findOperatorByApiKey(db: Kysely<Database>, apiKey: string): Promise<Operator | undefined> {
  return db.selectFrom('operators').selectAll().where('api_key_hash', '=', hashApiKey(apiKey)).executeTakeFirst();
}
