/**
 * `npm run host-agent -- --host-id <id> …`: the process a provider runs on each GPU machine.
 * Exit codes: 0 after a signal, 2 for a bad command line (the message names the option), 1 otherwise.
 */
import { CommanderError } from 'commander';
import pino from 'pino';
import { runHostAgent } from './agent';
import type { HostAgentOptions } from './options';
import { parseHostAgentOptions, UsageError } from './options';

function usageExit(message: string): never {
  process.stderr.write(`host-agent: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let options: HostAgentOptions;
  try {
    options = parseHostAgentOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
    usageExit(error instanceof Error ? error.message : String(error));
  }

  const logger = pino({ level: options.logLevel, base: { service: 'host-agent', hostId: options.hostId } });
  // Signals are handled here so that one during start-up (registration) also ends the process cleanly.

  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      stop.abort(new Error(`received ${signal}`));
    });
  }

  try {
    await runHostAgent(options, logger, stop.signal);
    process.exit(0);
  } catch (error) {
    if (error instanceof UsageError) usageExit(error.message);
    if (stop.signal.aborted) process.exit(0);
    logger.fatal({ err: error }, 'host agent failed');
    process.exit(1);
  }
}

void main();
