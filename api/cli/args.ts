/** Option parsers that refuse a bad value with words a person can act on (commander exits 2 on them). */
import { InvalidArgumentError } from 'commander';

export function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

export const tier = (value: string): 1 | 2 | 3 => {
  if (value !== '1' && value !== '2' && value !== '3') throw new InvalidArgumentError('tier must be 1 (best), 2 or 3');
  return Number(value) as 1 | 2 | 3;
};

export const amount = (value: string): string => {
  if (!/^\d+(\.\d{1,6})?$/.test(value)) throw new InvalidArgumentError('must be a decimal amount like 3.50 (at most 6 decimals)');
  return value;
};

/** Repeatable `--env KEY=VALUE`. */
export function envPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not KEY=VALUE`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const leaseId = (value: string): string => {
  if (!UUID.test(value)) throw new InvalidArgumentError('a lease id is a UUID, as `lease-engine lease ls` shows it');
  return value;
};
