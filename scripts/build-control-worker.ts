/**
 * Builds the control worker ahead of its start (setup, `npm start`, the Docker image): the workflow bundle
 * (.build/workflows-bundle.js) and the worker compiled to JavaScript (.build/control-worker.js), so that a
 * control worker polls within seconds of a (re)start instead of bundling and transpiling first. Each is a
 * no-op while its sources are unchanged. WORKFLOW_BUNDLE names another bundle file, or `inline` for none.
 */
import { ensureCompiledControlWorker } from '../workers/control/compiled-worker';
import { DEFAULT_WORKFLOW_BUNDLE_FILE, ensureWorkflowBundle } from '../workers/control/workflow-bundle';

async function main(): Promise<void> {
  const file = process.env.WORKFLOW_BUNDLE ?? DEFAULT_WORKFLOW_BUNDLE_FILE;
  const lines: string[] = [];
  if (file === 'inline') {
    lines.push('workflow bundle: none (WORKFLOW_BUNDLE=inline: control workers bundle at start)');
  } else {
    const bundle = await ensureWorkflowBundle({ file });
    if (bundle.codePath === undefined) throw new Error(`could not write ${file}`);
    lines.push(`workflow bundle ${bundle.built ? 'built' : 'up to date'}: ${bundle.codePath} (sources ${bundle.hash.slice(0, 12)})`);
  }
  const worker = await ensureCompiledControlWorker();
  lines.push(`compiled control worker ${worker.built ? 'built' : 'up to date'}: ${worker.file}`);
  console.log(lines.join('; '));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
