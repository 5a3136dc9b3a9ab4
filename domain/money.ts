/**
 * Token amounts. The payment token has 6 decimals; all arithmetic is on integer base units (bigint),
 * so no amount is ever rounded by floating point. Costs round down (the provider is never overpaid);
 * deposits round up (the escrow always covers the worst case).
 */
export const TOKEN_DECIMALS = 6;
const UNITS_PER_TOKEN = 10n ** BigInt(TOKEN_DECIMALS);
const SECONDS_PER_HOUR = 3600n;

export class InvalidAmountError extends Error {
  override name = 'InvalidAmountError';
}

/** "1.25" → 1250000n. Accepts only plain non-negative decimals with at most 6 fraction digits. */
export function parseTokenAmount(decimal: string): bigint {
  if (typeof decimal !== 'string' || decimal === '') throw new InvalidAmountError('amount is empty');
  if (/\s/.test(decimal)) throw new InvalidAmountError(`amount "${decimal}" contains whitespace`);
  if (decimal.startsWith('-')) throw new InvalidAmountError(`amount "${decimal}" is negative`);
  if (/[eE]/.test(decimal)) throw new InvalidAmountError(`amount "${decimal}" uses an exponent; write it out in full`);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(decimal);
  if (match === null) throw new InvalidAmountError(`amount "${decimal}" is not a decimal number like "1.25"`);
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > TOKEN_DECIMALS) {
    throw new InvalidAmountError(`amount "${decimal}" has more than ${TOKEN_DECIMALS} decimals`);
  }
  return BigInt(whole) * UNITS_PER_TOKEN + BigInt(fraction.padEnd(TOKEN_DECIMALS, '0'));
}

/** 1250000n → "1.25": the shortest decimal that parses back to the same units. */
export function formatTokenAmount(units: bigint | string): string {
  if (typeof units === 'string' && !/^-?\d+$/.test(units)) {
    throw new InvalidAmountError(`base units "${units}" are not an integer`);
  }
  const value = BigInt(units);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const whole = abs / UNITS_PER_TOKEN;
  const fraction = (abs % UNITS_PER_TOKEN).toString().padStart(TOKEN_DECIMALS, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** What `seconds` of one GPU cost at `pricePerGpuHour` base units, rounded down. */
export function costOfSeconds(pricePerGpuHour: bigint, seconds: number): bigint {
  assertCount('seconds', seconds);
  return (pricePerGpuHour * BigInt(seconds)) / SECONDS_PER_HOUR;
}

/** The escrow deposit for a lease at its price cap for its whole duration, rounded up. */
export function depositFor(maxPricePerGpuHour: bigint, gpuCount: number, durationSeconds: number): bigint {
  assertCount('gpuCount', gpuCount);
  assertCount('durationSeconds', durationSeconds);
  const total = maxPricePerGpuHour * BigInt(gpuCount) * BigInt(durationSeconds);
  return (total + SECONDS_PER_HOUR - 1n) / SECONDS_PER_HOUR;
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidAmountError(`${name} must be a non-negative integer (got ${value})`);
  }
}
