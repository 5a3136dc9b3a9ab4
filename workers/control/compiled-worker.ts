/**
 * The control worker process compiled ahead to one JavaScript file (esbuild; packages stay in node_modules),
 * so that a restarted worker spends no time in tsx: with the pre-built workflow bundle this brings its
 * restart-to-polling time under 3 s (issue 9). Next to it, a manifest of every source it was compiled from
 * with its sha256; workers/control/start.cjs runs the compiled file only while every source still matches,
 * and the TypeScript through tsx otherwise, so edited sources are never run stale.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from './project-root';

/** What start.cjs reads; keep the names in step with it. */
export const COMPILED_WORKER_FILE = path.join(PROJECT_ROOT, '.build', 'control-worker.js');
export const COMPILED_WORKER_MANIFEST = path.join(PROJECT_ROOT, '.build', 'control-worker.inputs.json');
const ENTRY = path.join(PROJECT_ROOT, 'workers', 'control', 'main.ts');

interface Manifest {
  /** Repository-relative source path → sha256 of its content. */
  inputs: Record<string, string>;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(path.join(PROJECT_ROOT, file))).digest('hex');

/** Whether the compiled worker exists and every source it was compiled from is unchanged. */
export function compiledWorkerIsCurrent(): boolean {
  if (!existsSync(COMPILED_WORKER_FILE) || !existsSync(COMPILED_WORKER_MANIFEST)) return false;
  try {
    const { inputs } = JSON.parse(readFileSync(COMPILED_WORKER_MANIFEST, 'utf8')) as Manifest;
    return Object.entries(inputs).every(([file, hash]) => existsSync(path.join(PROJECT_ROOT, file)) && sha256(file) === hash);
  } catch {
    return false;
  }
}

/** Compiles the control worker unless the compiled file is current. Returns whether it compiled. */
export async function ensureCompiledControlWorker(): Promise<{ built: boolean; file: string }> {
  if (compiledWorkerIsCurrent()) return { built: false, file: COMPILED_WORKER_FILE };
  mkdirSync(path.dirname(COMPILED_WORKER_FILE), { recursive: true });
  const partial = `${COMPILED_WORKER_FILE}.${process.pid}.partial`;
  // Each source hashed from the very bytes esbuild compiles: an edit during the build cannot slip into the
  // manifest with the old code.
  const inputs: Record<string, string> = {};
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // node_modules are loaded from where they are installed: the compiled file is only our code.
    packages: 'external',
    sourcemap: 'inline',
    outfile: partial,
    logLevel: 'warning',
    plugins: [
      {
        name: 'hash-sources',
        setup(compile) {
          compile.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
            const contents = readFileSync(args.path);
            inputs[path.relative(PROJECT_ROOT, args.path)] = createHash('sha256').update(contents).digest('hex');
            return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  // The code first, then the manifest that vouches for it: a worker starting in between sees the old
  // manifest, which no longer matches the changed sources, and falls back to tsx.
  renameSync(partial, COMPILED_WORKER_FILE);
  writeFileSync(`${COMPILED_WORKER_MANIFEST}.partial`, `${JSON.stringify({ inputs } satisfies Manifest, null, 2)}\n`);
  renameSync(`${COMPILED_WORKER_MANIFEST}.partial`, COMPILED_WORKER_MANIFEST);
  return { built: true, file: COMPILED_WORKER_FILE };
}
