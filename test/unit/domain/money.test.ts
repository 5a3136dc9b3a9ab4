import {
  InvalidAmountError,
  TOKEN_DECIMALS,
  costOfSeconds,
  depositFor,
  formatTokenAmount,
  parseTokenAmount,
} from '../../../domain/money';

describe('parseTokenAmount', () => {
  it.each([
    ['1', 1_000_000n],
    ['1.25', 1_250_000n],
    ['0.000001', 1n],
    ['0', 0n],
    ['007.5', 7_500_000n],
    ['123456789012345.123456', 123_456_789_012_345_123_456n],
  ])('parses %s', (text, units) => {
    expect(TOKEN_DECIMALS).toBe(6);
    expect(parseTokenAmount(text)).toBe(units);
  });

  it.each([
    ['', /empty/],
    [' 1', /whitespace/],
    ['1 ', /whitespace/],
    ['-1', /negative/],
    ['1e3', /exponent/],
    ['1.0000001', /more than 6 decimals/],
    ['1.', /not a decimal number/],
    ['.5', /not a decimal number/],
    ['1,5', /not a decimal number/],
    ['+1', /not a decimal number/],
    ['0x10', /not a decimal number/],
  ])('rejects %j', (text, message) => {
    expect(() => parseTokenAmount(text)).toThrow(InvalidAmountError);
    expect(() => parseTokenAmount(text)).toThrow(message);
  });
});

describe('formatTokenAmount', () => {
  it.each([
    [1_250_000n, '1.25'],
    [2_000_000n, '2'],
    [1n, '0.000001'],
    [0n, '0'],
    ['123456789012345123456', '123456789012345.123456'],
    [-1_500_000n, '-1.5'],
  ])('formats %s as %s', (units, text) => {
    expect(formatTokenAmount(units)).toBe(text);
  });

  it('round-trips with parseTokenAmount', () => {
    for (const text of ['0.1', '42', '0.000001', '99.999999']) expect(formatTokenAmount(parseTokenAmount(text))).toBe(text);
  });

  it('rejects base units that are not an integer', () => {
    expect(() => formatTokenAmount('1.5')).toThrow(InvalidAmountError);
  });
});

describe('costOfSeconds and depositFor', () => {
  it('costs price × seconds / 3600, rounded down', () => {
    expect(costOfSeconds(3_600_000_000n, 1)).toBe(1_000_000n);
    expect(costOfSeconds(2_500_000n, 3_600)).toBe(2_500_000n);
    expect(costOfSeconds(2_500_000n, 1)).toBe(694n); // 694.44…
    expect(costOfSeconds(2_500_000n, 0)).toBe(0n);
  });

  it('deposits max price × GPUs × duration / 3600, rounded up', () => {
    expect(depositFor(2_500_000n, 8, 3_600)).toBe(20_000_000n);
    expect(depositFor(2_500_000n, 1, 1)).toBe(695n);
    expect(depositFor(1n, 1, 1)).toBe(1n);
    expect(depositFor(2_500_000n, 0, 3_600)).toBe(0n);
  });

  it('a deposit always covers the cost of every GPU for the whole duration', () => {
    for (const [price, gpus, seconds] of [[1_234_567n, 3, 7_777], [999n, 16, 61], [2_500_001n, 8, 86_400 * 30]] as const) {
      expect(depositFor(price, gpus, seconds)).toBeGreaterThanOrEqual(costOfSeconds(price, seconds) * BigInt(gpus));
    }
  });

  it('refuses fractional or negative counts', () => {
    expect(() => costOfSeconds(1n, 1.5)).toThrow(/seconds must be a non-negative integer/);
    expect(() => depositFor(1n, -1, 10)).toThrow(/gpuCount/);
    expect(() => depositFor(1n, 1, Number.NaN)).toThrow(/durationSeconds/);
  });
});
