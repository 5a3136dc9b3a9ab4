/**
 * `lease-engine lease logs <id>`: the lease's container output, in order across ranks and failovers.
 * Container stdout goes to stdout and stderr to stderr, each line prefixed with its rank and epoch
 * (`[r0 e1]`); with --json, the API's page (or, following, one LogLine per line). `-f` follows live
 * until the lease has ended and its last lines are in.
 */
import type { Command } from 'commander';
import type { LeaseLogsPage, LogLineView } from '../schemas/logs.schemas';
import { integer, leaseId } from './args';
import type { CliIo, GlobalOptions } from './context';
import { clientOf } from './context';
import { EXIT } from './errors';

interface LogsOptions {
  rank?: number;
  follow?: boolean;
  since?: number;
}

export function formatLogLine(line: LogLineView): string {
  return `[r${line.rank} e${line.epoch}] ${line.text}\n`;
}

function show(io: CliIo, options: GlobalOptions, line: LogLineView): void {
  if (options.json) io.stdout(`${JSON.stringify(line)}\n`);
  else if (line.stream === 'stderr') io.stderr(formatLogLine(line));
  else io.stdout(formatLogLine(line));
}

/** Every kept line after `since`, page by page. */
async function printAll(options: GlobalOptions, io: CliIo, id: string, opts: LogsOptions): Promise<void> {
  const client = clientOf(options, io);
  const all: LogLineView[] = [];
  let since = opts.since ?? 0;
  for (;;) {
    const query = new URLSearchParams({ since: String(since), ...(opts.rank !== undefined ? { rank: String(opts.rank) } : {}) });
    const page = (await client.request('GET', `/v1/leases/${id}/logs?${query}`)) as LeaseLogsPage;
    if (options.json) all.push(...page.lines);
    else page.lines.forEach((line) => show(io, options, line));
    if (page.lines.length === 0 || page.next === since) break;
    since = page.next;
  }
  if (options.json) io.stdout(`${JSON.stringify({ lines: all, next: all.at(-1)?.seq ?? opts.since ?? 0 }, null, 2)}\n`);
}

async function follow(options: GlobalOptions, io: CliIo, id: string, opts: LogsOptions): Promise<void> {
  const client = clientOf(options, io);
  const after = opts.since !== undefined && opts.since > 0 ? String(opts.since) : undefined;
  for await (const message of client.logs(id, { rank: opts.rank }, { ...(after ? { after } : {}) })) {
    if (message.event === 'end') {
      if (options.json) io.stdout(`${JSON.stringify({ kind: 'end', ...(JSON.parse(message.data || '{}') as object) })}\n`);
      return;
    }
    if (message.event === 'log') show(io, options, JSON.parse(message.data) as LogLineView);
  }
}

export function registerLogsCommand(lease: Command, io: CliIo, setExitCode: (code: number) => void): void {
  lease
    .command('logs')
    .argument('<id>', 'lease id', leaseId)
    .option('--rank <n>', 'only this rank (all its epochs)', integer('--rank', 0, 1023))
    .option('-f, --follow', 'follow live until the lease has ended')
    .option('--since <seq>', 'only lines after this seq (a line\'s "seq" in --json output)', integer('--since', 0, Number.MAX_SAFE_INTEGER))
    .description('the containers\' stdout and stderr, each line with its rank and epoch ([r0 e1])')
    .action(async (id: string, opts: LogsOptions, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      if (opts.follow) await follow(options, io, id, opts);
      else await printAll(options, io, id, opts);
      setExitCode(EXIT.ok);
    });
}
