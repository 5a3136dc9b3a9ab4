/**
 * The container logs in a host's report (docs/host-protocol.md, "Container logs"). A host may ship
 * lines only for its own assignments, at the epoch it was given: anything else is refused whole, before
 * anything of the report is written (a 422 naming the batch's field), as an honest agent never sends it.
 * Lines of its own assignment that ended are still taken for a short grace (what the container said
 * while it was stopped), then ignored and said so in the answer: an honest agent racing an assignment's
 * end must not lose its report, nor does a failure to store lines fail it. What is stored is bounded
 * per assignment (rate and retention, in domain/container-logs.ts).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LogPolicy } from '../domain/container-logs';
import { DEFAULT_LOG_POLICY } from '../domain/container-logs';
import type { LogOwner } from '../infra/db/repositories/container-logs.repo';
import { appendContainerLogs, logOwners } from '../infra/db/repositories/container-logs.repo';
import type { Database } from '../infra/db/schema';
import type { FieldError } from './errors';
import { problems } from './errors';
import type { HostReportRequest } from './schemas/hosts.schemas';

export type ReportLogs = NonNullable<HostReportRequest['logs']>;

/** Logs are best effort once the report's receipts are recorded: lost lines beat a lost report. */
const STORE_FAILED = 'the lines could not be stored';

export interface ReportLogsAnswer {
  stored: number;
  dropped: number;
  ignored: { assignmentId: string; reason: string }[];
}

/** The owners of the report's batches; throws the 422 when a batch is not the host's to send. */
export async function checkReportLogs(db: Kysely<Database>, hostId: string, logs: ReportLogs): Promise<Map<string, LogOwner>> {
  if (logs.length === 0) return new Map();
  const owners = new Map((await logOwners(db, logs.map((b) => b.assignmentId))).map((o) => [o.assignmentId, o]));
  const errors: FieldError[] = [];
  logs.forEach((batch, index) => {
    const owner = owners.get(batch.assignmentId);
    // Another host's assignment reads as one that does not exist: nothing about it leaks.
    if (!owner || owner.hostId !== hostId) {
      errors.push({ field: `logs[${index}].assignmentId`, message: `assignment ${batch.assignmentId} is not one of host ${hostId}'s` });
    } else if (owner.epoch !== batch.epoch) {
      errors.push({ field: `logs[${index}].epoch`, message: `assignment ${batch.assignmentId} runs at epoch ${owner.epoch}, not ${batch.epoch}` });
    }
  });
  if (errors.length > 0) throw problems.unprocessable(`logs refused, nothing of the report was recorded: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
  return owners;
}

export async function storeReportLogs(
  db: Kysely<Database>,
  owners: Map<string, LogOwner>,
  logs: ReportLogs,
  policy: LogPolicy = DEFAULT_LOG_POLICY,
  log?: Logger,
): Promise<ReportLogsAnswer> {
  const answer: ReportLogsAnswer = { stored: 0, dropped: 0, ignored: [] };
  for (const batch of logs) {
    const owner = owners.get(batch.assignmentId)!;
    if (owner.endedMsAgo !== null && owner.endedMsAgo > policy.endedGraceMs) {
      answer.ignored.push({ assignmentId: batch.assignmentId, reason: 'the assignment has ended' });
      continue;
    }
    if (batch.lines.length === 0 && !batch.dropped) continue;
    let outcome: Awaited<ReturnType<typeof appendContainerLogs>>;
    try {
      outcome = await appendContainerLogs(db, owner, { lines: batch.lines, dropped: batch.dropped ?? 0 }, policy);
    } catch (err) {
      // The receipts are in by now: a failed answer would make the host send them again as replays.
      log?.error({ err, assignmentId: owner.assignmentId }, 'container log lines could not be stored');
      answer.ignored.push({ assignmentId: batch.assignmentId, reason: STORE_FAILED });
      continue;
    }
    answer.stored += outcome.stored;
    answer.dropped += outcome.dropped;
    if (outcome.dropped > 0) log?.info({ assignmentId: owner.assignmentId, dropped: outcome.dropped }, 'container log lines over the rate bound dropped');
  }
  return answer;
}
