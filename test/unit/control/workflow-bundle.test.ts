/**
 * The pre-built workflow bundle is used only while it matches the workflow sources: any change to a file
 * the bundle is built from (the entry or anything it imports, however deep) makes it stale and rebuilt.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleHash, ensureWorkflowBundle, workflowSourceHash, workflowSources } from '../../../workers/control/workflow-bundle';

let root: string;
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};
const entry = () => path.join(root, 'workflows', 'index.ts');

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-'));
  write('workflows/index.ts', "export * from './lease.workflow';\n");
  write('workflows/lease.workflow.ts', "import { sleep } from '@temporalio/workflow';\nimport { price } from '../domain/billing';\nexport const lease = () => price;\n");
  write('domain/billing.ts', "import type { Money } from './money';\nexport const price = 1;\n");
  write('domain/money.ts', 'export type Money = bigint;\n');
  write('domain/unrelated.ts', 'export const nothing = 0;\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('workflow sources', () => {
  it('are the entry and every local file it reaches, and the packages they import', () => {
    expect(workflowSources(entry(), root)).toEqual({
      files: ['domain/billing.ts', 'domain/money.ts', 'workflows/index.ts', 'workflows/lease.workflow.ts'],
      packages: ['@temporalio/workflow'],
    });
  });

  it('hash differently when a file two imports deep changes, and alike when an unused file does', () => {
    const before = workflowSourceHash(entry(), root);
    write('domain/unrelated.ts', 'export const nothing = 1;\n');
    expect(workflowSourceHash(entry(), root)).toBe(before);
    write('domain/money.ts', 'export type Money = number;\n');
    expect(workflowSourceHash(entry(), root)).not.toBe(before);
  });

  it('of the real lease workflow include the workflow and the domain code it runs', () => {
    const { files } = workflowSources();
    expect(files).toEqual(expect.arrayContaining(['workflows/lease.workflow.ts', 'domain/billing.ts']));
  });
});

describe('ensureWorkflowBundle', () => {
  const bundler = () => {
    const calls: string[] = [];
    return { calls, bundle: async (file: string) => (calls.push(file), `/* bundle ${calls.length} */`) };
  };

  it('builds once, then reuses the file while the sources are unchanged', async () => {
    const { calls, bundle } = bundler();
    const file = path.join(root, '.build', 'workflows-bundle.js');
    const first = await ensureWorkflowBundle({ entry: entry(), root, file, bundle });
    expect(first).toMatchObject({ codePath: file, built: true });
    expect(bundleHash(file)).toBe(first.hash);
    const second = await ensureWorkflowBundle({ entry: entry(), root, file, bundle });
    expect(second).toMatchObject({ codePath: file, built: false, hash: first.hash });
    expect(calls).toHaveLength(1);
  });

  it('never hands out a stale bundle: a changed workflow source rebuilds it', async () => {
    const { calls, bundle } = bundler();
    const file = path.join(root, '.build', 'workflows-bundle.js');
    await ensureWorkflowBundle({ entry: entry(), root, file, bundle });
    write('workflows/lease.workflow.ts', "import { price } from '../domain/billing';\nexport const lease = () => price * 2;\n");
    const rebuilt = await ensureWorkflowBundle({ entry: entry(), root, file, bundle });
    expect(rebuilt.built).toBe(true);
    expect(calls).toHaveLength(2);
    expect(readFileSync(file, 'utf8')).toContain('/* bundle 2 */');
    expect(bundleHash(file)).toBe(workflowSourceHash(entry(), root));
  });

  it('rebuilds over a file it did not write (no hash header)', async () => {
    const { calls, bundle } = bundler();
    const file = path.join(root, 'foreign.js');
    writeFileSync(file, 'module.exports = {};\n');
    expect((await ensureWorkflowBundle({ entry: entry(), root, file, bundle })).built).toBe(true);
    expect(calls).toHaveLength(1);
  });
});
