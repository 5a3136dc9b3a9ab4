/**
 * Operator commands: `customers create <name>`, `providers create <name> --tier <1|2|3>` and
 * `operators create <name>` (a key for the dashboard's operator view and /v1/operator/*). They write
 * the database directly (DATABASE_URL, or the embedded one of a running `npm start`), and print one JSON
 * object, the API key included: it is shown this once and stored only as a hash.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Kysely } from 'kysely';
import type { Tier } from '../../domain/tier';
import { loadConfig } from '../../infra/config';
import { createDb } from '../../infra/db/connection';
import { createCustomer } from '../../infra/db/repositories/customers.repo';
import { createOperator } from '../../infra/db/repositories/operators.repo';
import { createProvider } from '../../infra/db/repositories/providers.repo';
import type { Database } from '../../infra/db/schema';
import { databaseUrlFromConfig } from '../deps';
import { tier } from './args';
import type { CliIo } from './context';

function parseName(value: string): string {
  const name = value.trim();
  if (name === '' || name.length > 200) throw new InvalidArgumentError('name must be 1-200 characters');
  return name;
}

async function withDb<T>(io: CliIo, work: (db: Kysely<Database>) => Promise<T>): Promise<void> {
  const config = loadConfig();
  const db = createDb(databaseUrlFromConfig(config), { max: 1, preparedStatements: config.DATABASE_PREPARED_STATEMENTS });
  try {
    io.stdout(`${JSON.stringify(await work(db))}\n`);
  } finally {
    await db.destroy();
  }
}

export function registerOperatorCommands(program: Command, io: CliIo): void {
  const customers = program.command('customers').description('operator: customers who lease GPUs');
  customers
    .command('create')
    .argument('<name>', 'customer name', parseName)
    .description('create a customer and print { id, apiKey }')
    .action((name: string) => withDb(io, (db) => createCustomer(db, name)));

  const providers = program.command('providers').description('operator: providers who offer hosts');
  providers
    .command('create')
    .argument('<name>', 'provider name', parseName)
    .requiredOption('--tier <tier>', 'certified tier: 1 (best), 2 or 3', tier)
    .description('create a provider and print { id, apiKey, tier }')
    .action((name: string, options: { tier: Tier }) => withDb(io, (db) => createProvider(db, name, options.tier)));

  const operators = program.command('operators').description('operator: people who read the whole fleet and market');
  operators
    .command('create')
    .argument('<name>', 'operator name', parseName)
    .description('create an operator and print { id, apiKey } (for the dashboard\'s operator view)')
    .action((name: string) => withDb(io, (db) => createOperator(db, name)));
}
