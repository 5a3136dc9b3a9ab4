/**
 * Every committed history of a real lease replays against today's workflow code without a
 * nondeterminism error: what is running in production keeps running after a deploy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { ReplayResult } from '@temporalio/worker';
import { HISTORIES_DIR } from '../support/histories';
import { leaseWorkflowBundle } from '../support/temporal';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

// Each replay starts and stops a worker: its state changes are routine, not test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

test('histories of every lease path are committed', () => {
  expect(files).toEqual(expect.arrayContaining([
    'lease-completed.json',
    'lease-failover-then-cancel.json',
    'lease-extended-then-cancelled.json',
    'lease-no-capacity.json',
    'lease-start-compensated.json',
    'lease-continued-as-new-first-run.json',
    'lease-continued-as-new-second-run.json',
    'lease-containers-exited.json',
    'lease-allowance-exhausted.json',
  ]));
});

test.each(files)('%s replays deterministically', async (file) => {
  const history = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await leaseWorkflowBundle(), replayName: file },
    [{ workflowId: file, history }],
  )) {
    results.push(result);
  }
  expect(results).toHaveLength(1);
  expect(results[0]!.error).toBeUndefined();
});

test('a reshaped workflow is caught: replay fails with a determinism violation', async () => {
  const history = JSON.parse(readFileSync(path.join(HISTORIES_DIR, 'lease-completed.json'), 'utf8'));
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'reshaped-workflow.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, [{ workflowId: 'reshaped', history }])) {
    results.push(result);
  }
  expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
});
