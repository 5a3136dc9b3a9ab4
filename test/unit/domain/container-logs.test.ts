/** The container-log bounds both sides of the host protocol hold (domain/container-logs.ts). */
import {
  admitLines,
  droppedMarker,
  LINE_COST_BYTES,
  lineCost,
  MAX_LOG_LINE_BYTES,
  overRetention,
  retentionTarget,
  truncateLine,
  utf8Bytes,
} from '../../../domain/container-logs';

const policy = { bytesPerWindow: 400, windowMs: 60_000 };
/** Text that costs `n` against the window (its bytes plus a row's overhead). */
const costing = (char: string, n: number) => char.repeat(n - LINE_COST_BYTES);
const line = (text: string, at = 1_000) => ({ stream: 'stdout' as const, at, text });

describe('utf8Bytes', () => {
  test.each(['', 'plain', 'é', '€uro', '😀 emoji', '\ud800 lone surrogate', 'mixed ü€😀'])('agrees with Buffer for %j', (text) => {
    expect(utf8Bytes(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });
});

describe('truncateLine', () => {
  test('leaves a line within the bound alone', () => {
    expect(truncateLine('x'.repeat(MAX_LOG_LINE_BYTES))).toBe('x'.repeat(MAX_LOG_LINE_BYTES));
  });

  test('cuts a longer line to the bound and says so', () => {
    const cut = truncateLine('x'.repeat(MAX_LOG_LINE_BYTES + 1));
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    expect(cut.endsWith('…[truncated]')).toBe(true);
  });

  test('never cuts inside a character', () => {
    const cut = truncateLine('😀'.repeat(2000), 64);
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(64);
    expect(cut).toMatch(/^(😀)+…\[truncated\]$/u);
  });
});

describe('admitLines', () => {
  const fresh = { windowStartedAt: 0, windowBytes: 0, droppedPending: 0 };

  test('takes lines while the window has room; from the first that does not fit, the window is closed', () => {
    const batch = [line(costing('a', 250)), line(costing('b', 200)), line(costing('c', 100)), line('d')];
    const { stored, meter } = admitLines(fresh, batch, 0, 1_000, policy);
    expect(stored.map((l) => l.text[0])).toEqual(['a']);
    expect(meter).toEqual({ windowStartedAt: 0, windowBytes: 400, droppedPending: 3 });
  });

  test('marks a gap where lines are next stored, in a later window', () => {
    const full = { windowStartedAt: 0, windowBytes: 400, droppedPending: 0 };
    const flood = admitLines(full, [line('x'), line('y')], 0, 30_000, policy);
    expect(flood.stored).toEqual([]);
    expect(flood.meter.droppedPending).toBe(2);
    const next = admitLines(flood.meter, [line('z', 61_000)], 0, 61_000, policy);
    expect(next.stored).toEqual([
      { stream: 'stderr', at: 61_000, text: droppedMarker(2), marker: true },
      { stream: 'stdout', at: 61_000, text: 'z', marker: false },
    ]);
    expect(next.meter).toEqual({ windowStartedAt: 61_000, windowBytes: lineCost('z') + lineCost(droppedMarker(2)), droppedPending: 0 });
  });

  test('lines the host dropped are marked before the lines that follow them', () => {
    const { stored } = admitLines(fresh, [line('after the gap')], 7, 1_000, policy);
    expect(stored.map((l) => l.text)).toEqual(['[lease-engine: 7 lines dropped]', 'after the gap']);
  });

  test('a flood costs at most the window budget, in bytes and in rows, whatever its lines', () => {
    for (const text of ['', '0123456789', 'x'.repeat(300)]) {
      const flood = Array.from({ length: 10_000 }, () => line(text));
      const { stored, meter } = admitLines(fresh, flood, 0, 1_000, policy);
      expect(stored.reduce((sum, l) => sum + lineCost(l.text), 0)).toBeLessThanOrEqual(policy.bytesPerWindow);
      expect(stored.length).toBeLessThanOrEqual(policy.bytesPerWindow / LINE_COST_BYTES);
      expect(meter.droppedPending).toBe(10_000 - stored.length);
    }
  });

  test('alternating big and small lines do not buy a marker per small line', () => {
    const batch = Array.from({ length: 100 }, (_, i) => line(i % 2 === 0 ? 'x'.repeat(300) : 'y'));
    const { stored } = admitLines(fresh, batch, 0, 1_000, policy);
    expect(stored.filter((l) => l.marker)).toHaveLength(0);
    expect(stored).toHaveLength(1);
  });
});

describe('retention', () => {
  const keep = { keepLines: 10_000, keepBytes: 2 * 1024 * 1024 };
  test('over either bound', () => {
    expect(overRetention({ lines: 10_000, bytes: 2 * 1024 * 1024 }, keep)).toBe(false);
    expect(overRetention({ lines: 10_001, bytes: 10 }, keep)).toBe(true);
    expect(overRetention({ lines: 1, bytes: 2 * 1024 * 1024 + 1 }, keep)).toBe(true);
  });
  test('trims to 90% of each bound', () => {
    expect(retentionTarget(keep)).toEqual({ lines: 9_000, bytes: Math.floor(2 * 1024 * 1024 * 0.9) });
  });
});
