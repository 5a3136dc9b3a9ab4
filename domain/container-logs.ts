/**
 * Container logs (issue 10 item 2): the bounds both sides of the host protocol hold, and the pure
 * decisions made with them. A lease's container is the customer's code running on a provider's machine,
 * and its host is not trusted either: neither may use logs to flood the engine. So every bound is here
 * once: the agent truncates and batches by them, the API refuses what breaks them (a 400 naming the
 * field) and rate-limits and trims what keeps to them.
 */

export type LogStream = 'stdout' | 'stderr';

/** A line's text at most, in UTF-8 bytes; the agent cuts longer lines (and says so at their end). */
export const MAX_LOG_LINE_BYTES = 4096;
/** Lines in one report at most, over all its assignments. */
export const MAX_REPORT_LOG_LINES = 1000;
/** What the agent puts in one report at most, as JSON: keeps a report (with its receipts) under the 512 kB body limit. */
export const AGENT_REPORT_LOG_BYTES = 192 * 1024;
export const AGENT_REPORT_LOG_LINES = 500;

export interface LogPolicy {
  /** Bytes of text accepted per assignment per window; lines beyond are dropped and counted. */
  bytesPerWindow: number;
  windowMs: number;
  /** Kept per assignment: the newest lines within both bounds; older ones are deleted. */
  keepLines: number;
  keepBytes: number;
  /** Lines of an assignment that ended are still taken this long: what its container said while stopping. */
  endedGraceMs: number;
  /** A lease's logs are deleted this long after it ended. */
  retainAfterEndMs: number;
}

export const DEFAULT_LOG_POLICY: LogPolicy = {
  bytesPerWindow: 256 * 1024,
  windowMs: 60_000,
  keepLines: 10_000,
  keepBytes: 2 * 1024 * 1024,
  endedGraceMs: 15_000,
  retainAfterEndMs: 7 * 24 * 3600 * 1000,
};

const TRUNCATED = '…[truncated]';

/** UTF-8 length without Buffer (domain/ stays free of Node): a lone surrogate counts as its 3-byte replacement. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes, never inside a character, marked when cut. */
export function truncateLine(text: string, maxBytes = MAX_LOG_LINE_BYTES): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const room = maxBytes - utf8Bytes(TRUNCATED);
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Bytes(char);
    if (bytes + size > room) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}${TRUNCATED}`;
}

/** The line the engine writes where lines were dropped (by the agent or by the rate bound). */
export const droppedMarker = (count: number): string => `[lease-engine: ${count} lines dropped]`;

/** Where an assignment's rate window stands (stored per assignment). */
export interface LogMeter {
  windowStartedAt: number;
  windowBytes: number;
  /** Lines dropped and not yet marked in the log. */
  droppedPending: number;
}

export interface IncomingLine {
  stream: LogStream;
  at: number;
  text: string;
}

export interface AdmittedLine extends IncomingLine {
  /** The engine's own marker line, not the container's. */
  marker: boolean;
}

/**
 * What a line costs against the rate bound: its bytes and a row's overhead, so that a flood of empty
 * lines is bounded in rows as a flood of long ones is in bytes (256 KiB a minute: at most 4,096 rows).
 */
export const LINE_COST_BYTES = 64;
export const lineCost = (text: string): number => utf8Bytes(text) + LINE_COST_BYTES;

/**
 * What of a batch of one assignment's lines is stored, at `now`. The window restarts once `windowMs`
 * passed; lines are taken in order while the window has room, and from the first that does not fit
 * the window is closed: everything until it restarts is dropped and counted, so a flood costs at most
 * `bytesPerWindow` a window (markers included). Dropped lines (here, or by the agent: `droppedByHost`)
 * are marked by one marker line where lines are next stored, so a reader sees the gap where it is.
 */
export function admitLines(
  meter: LogMeter,
  lines: IncomingLine[],
  droppedByHost: number,
  now: number,
  policy: Pick<LogPolicy, 'bytesPerWindow' | 'windowMs'>,
): { stored: AdmittedLine[]; meter: LogMeter } {
  const next: LogMeter = now - meter.windowStartedAt >= policy.windowMs
    ? { windowStartedAt: now, windowBytes: 0, droppedPending: meter.droppedPending }
    : { ...meter };
  next.droppedPending += droppedByHost;
  const stored: AdmittedLine[] = [];
  for (const line of lines) {
    const marker = next.droppedPending > 0 ? droppedMarker(next.droppedPending) : undefined;
    const cost = lineCost(line.text) + (marker === undefined ? 0 : lineCost(marker));
    if (next.windowBytes + cost > policy.bytesPerWindow) {
      next.windowBytes = Math.max(next.windowBytes, policy.bytesPerWindow);
      next.droppedPending += 1;
      continue;
    }
    if (marker !== undefined) stored.push({ stream: 'stderr', at: line.at, text: marker, marker: true });
    next.droppedPending = 0;
    next.windowBytes += cost;
    stored.push({ ...line, marker: false });
  }
  return { stored, meter: next };
}

/** Whether an assignment keeps more than its retention allows (then its oldest lines are deleted). */
export function overRetention(kept: { lines: number; bytes: number }, policy: Pick<LogPolicy, 'keepLines' | 'keepBytes'>): boolean {
  return kept.lines > policy.keepLines || kept.bytes > policy.keepBytes;
}

/**
 * What to trim down to once over: 90% of each bound, so that an assignment at its bound deletes in one
 * statement per tenth of its retention rather than on every report.
 */
export function retentionTarget(policy: Pick<LogPolicy, 'keepLines' | 'keepBytes'>): { lines: number; bytes: number } {
  return { lines: Math.floor(policy.keepLines * 0.9), bytes: Math.floor(policy.keepBytes * 0.9) };
}
