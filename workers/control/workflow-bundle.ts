/**
 * The lease workflows bundled ahead of time, so that a control worker polls again within a second or two of
 * a restart instead of spending ~10 s in webpack first (issue 9). The bundle is a file keyed by a content
 * hash of every source it is built from; a worker checks that hash against the sources it runs with and
 * rebuilds when they differ, so a stale bundle is never loaded, whoever edited the workflows and whether or
 * not setup ran since.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT } from './project-root';

const ROOT = PROJECT_ROOT;

/** The workflows' entry point: what the SDK bundles (workers/control/worker.ts re-exports it). */
export const WORKFLOWS_PATH = path.join(ROOT, 'workflows', 'index.ts');

/** Where setup and the launcher keep the bundle (gitignored); WORKFLOW_BUNDLE overrides. */
export const DEFAULT_WORKFLOW_BUNDLE_FILE = path.join(ROOT, '.build', 'workflows-bundle.js');

/**
 * Bumped when the way we bundle changes (options below), so bundles built the old way count as stale.
 * The SDK's version is part of the hash by itself.
 */
const BUNDLE_FORMAT = 'lease-engine-workflow-bundle/1';
const HEADER_PREFIX = '// lease-engine workflow bundle sha256=';

/** Relative imports and re-exports, static and dynamic: what webpack follows from the entry. */
const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
const EXTENSIONS = ['', '.ts', '.tsx', '.js', '/index.ts', '/index.js'];

export interface WorkflowSources {
  /** Local files reached from the entry, repository-relative, sorted. */
  files: string[];
  /** Packages imported by those files (bare specifiers' package names), sorted. */
  packages: string[];
}

/** Every local source the bundle is built from (the entry and its transitive imports) and the packages they use. */
export function workflowSources(entry: string = WORKFLOWS_PATH, root: string = ROOT): WorkflowSources {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [path.resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT_PATTERN)) {
      if (specifier === undefined) continue;
      if (!specifier.startsWith('.')) {
        packages.add(packageName(specifier));
        continue;
      }
      const resolved = resolveLocal(path.resolve(path.dirname(file), specifier));
      // Unresolvable: webpack will say so when it bundles; the hash just covers what exists.
      if (resolved !== undefined) pending.push(resolved);
    }
  }
  return {
    files: [...files].map((file) => path.relative(root, file)).sort(),
    packages: [...packages].sort(),
  };
}

/** sha256 over the bundle format, the sources' paths and contents, and the installed versions of the packages they import. */
export function workflowSourceHash(entry: string = WORKFLOWS_PATH, root: string = ROOT): string {
  const { files, packages } = workflowSources(entry, root);
  const hash = createHash('sha256').update(`${BUNDLE_FORMAT}\n`);
  // @temporalio/worker does the bundling (webpack, its own shims): its version matters even unimported.
  for (const name of new Set([...packages, '@temporalio/worker'])) {
    hash.update(`package ${name}@${installedVersion(name, root)}\n`);
  }
  for (const file of files) {
    const content = readFileSync(path.join(root, file));
    hash.update(`file ${file} ${content.length}\n`).update(content);
  }
  return hash.digest('hex');
}

export interface EnsureBundleOptions {
  /** The bundle file; created or replaced when stale. */
  file?: string;
  entry?: string;
  root?: string;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** The bundler (tests pass a fake one); @temporalio/worker's bundleWorkflowCode by default. */
  bundle?: (entry: string) => Promise<string>;
}

export type EnsuredBundle =
  /** The file holds a bundle of exactly the current sources: give the worker `{ codePath }`. */
  | { codePath: string; code?: undefined; built: boolean; hash: string }
  /** The file could not be written (a read-only image): the fresh bundle, in memory. */
  | { codePath?: undefined; code: string; built: true; hash: string };

/**
 * A bundle of the current workflow sources: the file when its hash matches, else a new bundle written
 * there (atomically: a worker starting meanwhile reads the old file or the new one, never half of one).
 */
export async function ensureWorkflowBundle(opts: EnsureBundleOptions = {}): Promise<EnsuredBundle> {
  const file = path.resolve(opts.file ?? DEFAULT_WORKFLOW_BUNDLE_FILE);
  const entry = opts.entry ?? WORKFLOWS_PATH;
  const hash = workflowSourceHash(entry, opts.root ?? ROOT);
  if (bundleHash(file) === hash) return { codePath: file, built: false, hash };

  const started = Date.now();
  const code = `${HEADER_PREFIX}${hash}\n${await (opts.bundle ?? bundleWorkflows)(entry)}`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  } catch (error) {
    opts.log?.warn({ file, err: error }, 'could not save the workflow bundle; using it from memory');
    return { code, built: true, hash };
  }
  opts.log?.info({ file, ms: Date.now() - started }, 'workflow bundle rebuilt (workflow sources changed)');
  return { codePath: file, built: true, hash };
}

/** The source hash a bundle file was built from; undefined when there is no such file or it is not ours. */
export function bundleHash(file: string): string | undefined {
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  // The header is the first line; reading the whole file (a few MB) costs milliseconds.
  const firstLine = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  return firstLine.startsWith(HEADER_PREFIX) ? firstLine.slice(HEADER_PREFIX.length) : undefined;
}

async function bundleWorkflows(entry: string): Promise<string> {
  // webpack's module list at INFO says nothing an operator needs; its warnings and errors still show.
  const { code } = await bundleWorkflowCode({ workflowsPath: entry, logger: new DefaultLogger('WARN') });
  return code;
}

function resolveLocal(base: string): string | undefined {
  for (const extension of EXTENSIONS) {
    const candidate = `${base}${extension}`;
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  // `import './x.js'` written for a `./x.ts` source (TypeScript's ESM style).
  if (base.endsWith('.js')) return resolveLocal(base.slice(0, -3));
  return undefined;
}

function packageName(specifier: string): string {
  const parts = specifier.replace(/^node:/, '').split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function installedVersion(name: string, root: string): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    // A Node built-in or a package that is not installed: the name alone.
    return 'none';
  }
}
