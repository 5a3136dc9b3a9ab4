/**
 * Operator commands: `npm run cli -- customers create <name>` and
 * `npm run cli -- providers create <name> --tier <1|2|3>`. Each prints one JSON object, the API key
 * included: it is shown this once and stored only as a hash.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Kysely } from 'kysely';
import { isTier } from '../domain/tier';
import type { Tier } from '../domain/tier';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db/connection';
import { createCustomer } from '../infra/db/repositories/customers.repo';
import { createProvider } from '../infra/db/repositories/providers.repo';
import type { Database } from '../infra/db/schema';
import { databaseUrlFromConfig } from './deps';

function parseTier(value: string): Tier {
  const tier = Number(value);
  if (!isTier(tier)) throw new InvalidArgumentError('tier must be 1, 2 or 3');
  return tier;
}

function parseName(value: string): string {
  const name = value.trim();
  if (name === '' || name.length > 200) throw new InvalidArgumentError('name must be 1-200 characters');
  return name;
}

async function withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<void> {
  const config = loadConfig();
  const db = createDb(databaseUrlFromConfig(config), { max: 1 });
  try {
    console.log(JSON.stringify(await work(db)));
  } finally {
    await db.destroy();
  }
}

export function buildCli(): Command {
  const program = new Command('lease-engine').description('lease-engine operator commands').showHelpAfterError();

  const customers = program.command('customers').description('customers who lease GPUs');
  customers
    .command('create')
    .argument('<name>', 'customer name', parseName)
    .description('create a customer and print { id, apiKey }')
    .action((name: string) => withDb((db) => createCustomer(db, name)));

  const providers = program.command('providers').description('providers who offer hosts');
  providers
    .command('create')
    .argument('<name>', 'provider name', parseName)
    .requiredOption('--tier <tier>', 'certified tier: 1 (best), 2 or 3', parseTier)
    .description('create a provider and print { id, apiKey, tier }')
    .action((name: string, options: { tier: Tier }) => withDb((db) => createProvider(db, name, options.tier)));

  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
