/**
 * Histories of real runs, committed under test/replay/histories/ and replayed by the replay test so
 * that a change to workflow code that would break running leases fails CI. `RECORD_HISTORIES=1 npm test`
 * refreshes them (do it when the workflow changes shape on purpose, together with a `patched()` guard).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '../replay/histories');

export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  // Proto3 JSON, the format `temporal workflow show --output json` writes and the replayer reads.
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(path.join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
