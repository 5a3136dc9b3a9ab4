import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Tier } from '../../domain/tier';
import { createCustomer } from '../../infra/db/repositories/customers.repo';
import { createOperator } from '../../infra/db/repositories/operators.repo';
import { createProvider } from '../../infra/db/repositories/providers.repo';
import type { Database } from '../../infra/db/schema';
import { DEMO_CUSTOMERS, DEMO_PROVIDERS } from './demo-fleet';

/** The demo's operator: signs in to the dashboard's operator view. */
export const DEMO_OPERATOR_NAME = 'demo-operator';

/**
 * The demo's customers, providers and operator, with their API keys. Keys are stored only hashed in the database,
 * so the launcher keeps them in data/demo-state.json (mode 600) to reuse them on every restart.
 */
export interface DemoState {
  customers: Record<string, { name: string; id: string; apiKey: string }>;
  providers: Record<string, { name: string; id: string; apiKey: string; tier: Tier }>;
  /** Absent in a state file written before operators existed: created on the next start. */
  operator?: { name: string; id: string; apiKey: string };
}

export function demoStatePath(dataDir: string): string {
  return path.join(dataDir, 'demo-state.json');
}

/**
 * Loads the demo state and creates what is missing: on the first start everything, later only an entry
 * whose row the database lacks (say the database was wiped but data/demo-state.json was not).
 */
export async function ensureDemoState(db: Kysely<Database>, dataDir: string): Promise<DemoState> {
  const file = demoStatePath(dataDir);
  const state = await readState(file);
  let changed = false;

  const customerIds = new Set((await db.selectFrom('customers').select('id').execute()).map((row) => row.id));
  for (const { key, name } of DEMO_CUSTOMERS) {
    if (state.customers[key] && customerIds.has(state.customers[key].id)) continue;
    state.customers[key] = { name, ...(await createCustomer(db, name)) };
    changed = true;
  }

  const providerIds = new Set((await db.selectFrom('providers').select('id').execute()).map((row) => row.id));
  for (const { key, name, tier } of DEMO_PROVIDERS) {
    const known = state.providers[key];
    if (known && providerIds.has(known.id) && known.tier === tier) continue;
    state.providers[key] = { name, ...(await createProvider(db, name, tier)) };
    changed = true;
  }

  const operatorIds = new Set((await db.selectFrom('operators').select('id').execute()).map((row) => row.id));
  if (!state.operator || !operatorIds.has(state.operator.id)) {
    state.operator = { name: DEMO_OPERATOR_NAME, ...(await createOperator(db, DEMO_OPERATOR_NAME)) };
    changed = true;
  }

  if (changed) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return state;
}

async function readState(file: string): Promise<DemoState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { customers: {}, providers: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<DemoState>;
    return { customers: parsed.customers ?? {}, providers: parsed.providers ?? {}, ...(parsed.operator ? { operator: parsed.operator } : {}) };
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); remove it to create the demo data afresh`);
  }
}
