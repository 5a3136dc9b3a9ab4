/**
 * A real Temporal dev server for workflow tests: the CLI that scripts/setup.sh builds, started by the
 * SDK's test environment (its default mode downloads a binary, which this machine cannot).
 */
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { searchAttributes } from '../../workflows/messages';
import { WORKFLOWS_PATH } from '../../workers/control/worker';

export function temporalCliPath(): string {
  return process.env.TEMPORAL_CLI ?? path.join(os.homedir(), 'go', 'bin', 'temporal');
}

export interface TemporalOptions {
  /** Server-side dynamic config: suggest continue-as-new after this many history events. */
  suggestContinueAsNewAfterEvents?: number;
}

let runtimeInstalled = false;

function installRuntimeLogger(): void {
  if (runtimeInstalled) return;
  // Worker state changes and bundle statistics drown the test output; warnings still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export async function startTemporal(options: TemporalOptions = {}): Promise<TestWorkflowEnvironment> {
  installRuntimeLogger();
  const extraArgs = ['--log-level', 'error'];
  if (options.suggestContinueAsNewAfterEvents !== undefined) {
    extraArgs.push('--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${options.suggestContinueAsNewAfterEvents}`);
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: Object.values(searchAttributes),
      extraArgs,
    },
  });
}

/**
 * A test environment on a Temporal server that runs already (the cluster topology's); its teardown closes
 * the connections and leaves the server to whoever started it.
 */
export async function connectTemporalServer(address: string, namespace = 'default'): Promise<TestWorkflowEnvironment> {
  installRuntimeLogger();
  return TestWorkflowEnvironment.createFromExistingServer({ address, namespace });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The lease workflow bundle, built once per test file. */
export function leaseWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}
