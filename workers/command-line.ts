/**
 * What the workers' command lines share (the host agent and the fleet simulator): a usage error main turns into
 * exit code 2, and commander argument parsers that report a bad value with the option's name.
 */
import type { Command } from 'commander';
import { CommanderError, InvalidArgumentError } from 'commander';

/** A command line that cannot run; main prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A parser from a check that throws: commander reports its message with the option's name. */
export const rule = <T>(check: (value: string) => T) => (value: string): T => {
  try {
    return check(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

export const integer = (min: number, max: number) =>
  rule((value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new Error(`expected an integer from ${min} to ${max}`);
    return n;
  });

/** Seconds on the command line, milliseconds out. */
export const seconds = (min: number, max: number) =>
  rule((value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`expected seconds between ${min} and ${max}`);
    return n * 1000;
  });

export const httpUrl = rule((value) => {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('expected an http(s) URL');
  return value;
});

/**
 * Parses `argv` (without node and script) with `command`. Commander would print its own error; main prints ours,
 * once, the same way for every bad option: a UsageError, or the CommanderError with exit code 0 after --help.
 */
export function parseCommandLine(command: Command, argv: string[]): void {
  command.configureOutput({ writeErr: () => undefined });
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) throw error;
    throw new UsageError((error instanceof Error ? error.message : String(error)).replace(/^error: /, ''));
  }
}
