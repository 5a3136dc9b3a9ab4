/**
 * `lease-engine` (bin/lease-engine.js, `npm run cli --`): the customer's commands over the REST API
 * (api/cli/customer.commands.ts) and the operator's over the database (api/cli/operator.commands.ts).
 * Exit codes: 0 ok, 1 other failure, 2 usage, 3 not found, 4 refused (api/cli/errors.ts).
 */
import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli/context';
import { processIo } from './cli/context';
import { registerCustomerCommands } from './cli/customer.commands';
import { CliError, EXIT } from './cli/errors';
import { registerOperatorCommands } from './cli/operator.commands';
import { registerWalletCommands } from './cli/wallet.commands';

export function buildCli(io: CliIo = processIo, setExitCode: (code: number) => void = () => undefined): Command {
  const program = new Command('lease-engine')
    .description('Rent GPU clusters from independent providers: leases, offers, estimates; operator commands')
    .option('--api-url <url>', 'the API (env LEASE_ENGINE_API_URL, config file apiUrl; default http://127.0.0.1:8080)')
    .option('--api-key <key>', 'your customer API key (env LEASE_ENGINE_API_KEY, config file apiKey)')
    .option('--json', 'print machine-readable JSON only (JSON lines when following events)')
    .showHelpAfterError()
    // Usage errors become exit code 2 in main, not commander's process.exit(1).
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) });
  registerCustomerCommands(program, io, setExitCode);
  registerWalletCommands(program, io);
  registerOperatorCommands(program, io);
  return program;
}

/** Runs the command line; resolves to the exit code (it never calls process.exit). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildCli(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are answers, not failures; commander already printed the usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const json = program.opts<{ json?: boolean }>().json;
    if (err instanceof CliError) {
      if (json) io.stderr(`${JSON.stringify({ error: err.message, exitCode: err.exitCode, ...(err.problem ? { problem: err.problem } : {}) })}\n`);
      else io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.other;
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv);
}

if (require.main === module) void main();
