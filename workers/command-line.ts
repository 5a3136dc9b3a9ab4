/**
 * What the workers' command lines share (the host agent and the fleet simulator): a usage error main turns into
 * exit code 2, and commander argument parsers that report a bad value with the option's name.
 */
import { InvalidArgumentError } from 'commander';

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
