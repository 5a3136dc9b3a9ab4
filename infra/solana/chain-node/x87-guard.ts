/**
 * clearX87State(): to be called right after every LiteSVM call that runs SBF programs (send, simulate).
 * litesvm 0.8's x86_64 JIT leaves the x87 register file marked full after a `callx` (LiteSVM/litesvm#396);
 * the next x87 code on the thread (V8's `%`, the GC's long double maths) then computes NaN and Node aborts
 * with std::bad_alloc (seen here after a few associated-token-account creations). The native helper in
 * native/x87_reset.c executes EMMS, as the upstream fix (#398) does. It is compiled with gcc on first use
 * into node_modules/.cache (content-addressed, so a changed source is rebuilt) and loaded with dlopen.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SOURCE = path.join(__dirname, 'native', 'x87_reset.c');
const CACHE_DIRS = [
  path.resolve(__dirname, '../../../node_modules/.cache/lease-engine'),
  path.join(os.tmpdir(), 'lease-engine'),
];

let reset: (() => void) | undefined;

function build(): () => void {
  const source = fs.readFileSync(SOURCE);
  const name = `x87-reset-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.node`;
  let lastError: unknown;
  for (const dir of CACHE_DIRS) {
    const file = path.join(dir, name);
    try {
      if (!fs.existsSync(file)) {
        fs.mkdirSync(dir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', tmp, SOURCE], { stdio: 'pipe' });
        fs.renameSync(tmp, file);
      }
      const native = { exports: {} as { reset?: () => void } };
      process.dlopen(native, file);
      if (typeof native.exports.reset !== 'function') throw new Error(`${file} exports no reset()`);
      return native.exports.reset;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`could not build the x87 guard for litesvm (gcc needed): ${(lastError as Error).message}`);
}

/** Loads (building if needed) the helper; call once at start-up so a missing gcc fails early. */
export function loadX87Guard(): void {
  if (reset === undefined) reset = process.arch === 'x64' ? build() : () => undefined;
}

export function clearX87State(): void {
  if (reset === undefined) loadX87Guard();
  reset!();
}
