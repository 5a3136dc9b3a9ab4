/**
 * Ships each lease container's stdout and stderr to the API with the reports (docs/host-protocol.md,
 * "Container logs"). Per container a cursor (Docker's timestamp of the last line read) says where the
 * next read starts, and a bounded buffer holds what the API has not acknowledged yet: when the API is
 * away and the buffer is full, the oldest lines go and are counted, and the API marks the gap. A read
 * takes at most `readBytes` of Docker's log; the rest waits in Docker's log file for the next tick, so a
 * flooding container costs the agent bounded memory and time.
 */
import type { LogStream } from '../../domain/container-logs';
import { AGENT_REPORT_LOG_BYTES, AGENT_REPORT_LOG_LINES, MAX_LOG_LINE_BYTES, truncateLine, utf8Bytes } from '../../domain/container-logs';
import type { DecodedLine } from './docker-log-frames';
import type { LeaseContainer } from './reconcile';
import { assignmentKey } from './reconcile';

/** Reads a container's log lines after `sinceNs` (inclusive: Docker's `since` is), at most about `maxBytes`. */
export interface LogSource {
  readLogs(containerId: string, sinceNs: bigint, maxBytes: number, onLine: (line: DecodedLine) => void): Promise<void>;
}

export interface LogShipperOptions {
  /** Per container, lines and bytes kept for the API at most. */
  bufferLines: number;
  bufferBytes: number;
  /** Docker log bytes read per container per tick at most. */
  readBytes: number;
  /** When this agent started (unix ms): containers older than it are read from then on, not resent whole. */
  startedAt: number;
}

export const DEFAULT_LOG_SHIPPER_OPTIONS: Omit<LogShipperOptions, 'startedAt'> = {
  bufferLines: 5_000,
  bufferBytes: 1024 * 1024,
  readBytes: 4 * 1024 * 1024,
};

interface BufferedLine {
  id: number;
  stream: LogStream;
  at: number;
  text: string;
  bytes: number;
  /** What the line costs in the report's JSON: escaping can make a line of control characters six times longer. */
  wireBytes: number;
}

/** A line's JSON object around its text: `{"stream":"stderr","at":1780000000000,"text":…},`. */
const LINE_JSON_OVERHEAD = 48;

interface ContainerLog {
  containerId: string;
  assignmentId: string;
  epoch: number;
  cursorNs: bigint;
  lines: BufferedLine[];
  bytes: number;
  /** Lines dropped from the buffer and not yet told to the API. */
  dropped: number;
  nextId: number;
  /** Exited and read to its end: nothing more will come. */
  drained: boolean;
}

/** One assignment's part of a report; `upTo` and `dropped` say what acknowledging it removes. */
export interface LogBatch {
  assignmentId: string;
  epoch: number;
  lines: { stream: LogStream; at: number; text: string }[];
  dropped?: number;
  upTo: number;
}

export class LogShipper {
  private readonly logs = new Map<string, ContainerLog>();

  constructor(
    private readonly source: LogSource,
    private readonly options: LogShipperOptions,
  ) {}

  /**
   * Reads what each of `containers` wrote since its cursor, for the assignments in `wanted` (their keys);
   * forgets the others. A container that exited is read once more, then left alone.
   */
  async collect(containers: LeaseContainer[], wanted: ReadonlySet<string>): Promise<void> {
    const present = new Set<string>();
    const reads: Promise<void>[] = [];
    for (const container of containers) {
      const key = assignmentKey(container.assignmentId, container.epoch);
      if (!wanted.has(key)) continue;
      present.add(key);
      const log = this.logOf(key, container);
      if (log.drained) continue;
      if (container.state === 'exited') log.drained = true;
      reads.push(this.read(log));
    }
    await Promise.all(reads);
    for (const [key, log] of this.logs) {
      // Gone from Docker or from the desired state: what it still holds is sent, then it is dropped.
      if (!present.has(key) && log.lines.length === 0 && log.dropped === 0) this.logs.delete(key);
      else if (!wanted.has(key)) this.logs.delete(key);
    }
  }

  /** What the next report carries: the oldest lines of every container, within the report's bounds. */
  pending(maxLines = AGENT_REPORT_LOG_LINES, maxBytes = AGENT_REPORT_LOG_BYTES): LogBatch[] {
    const batches: LogBatch[] = [];
    let lines = 0;
    let bytes = 0;
    for (const log of this.logs.values()) {
      const batch: LogBatch = { assignmentId: log.assignmentId, epoch: log.epoch, lines: [], upTo: -1, ...(log.dropped > 0 ? { dropped: log.dropped } : {}) };
      for (const line of log.lines) {
        if (lines >= maxLines || bytes + line.wireBytes > maxBytes) break;
        batch.lines.push({ stream: line.stream, at: line.at, text: line.text });
        batch.upTo = line.id;
        lines += 1;
        bytes += line.wireBytes;
      }
      if (batch.lines.length > 0 || batch.dropped) batches.push(batch);
    }
    return batches;
  }

  /** The API took these batches (or refused them for good): they leave the buffers. */
  acknowledge(batches: LogBatch[]): void {
    for (const batch of batches) {
      const log = this.logs.get(assignmentKey(batch.assignmentId, batch.epoch));
      if (!log) continue;
      log.dropped = Math.max(0, log.dropped - (batch.dropped ?? 0));
      while (log.lines.length > 0 && log.lines[0]!.id <= batch.upTo) log.bytes -= log.lines.shift()!.bytes;
    }
  }

  private logOf(key: string, container: LeaseContainer): ContainerLog {
    let log = this.logs.get(key);
    if (!log) {
      // A container already there when this agent started may have been shipped by the agent before it.
      const from = container.createdAt < this.options.startedAt ? BigInt(this.options.startedAt) * 1_000_000n : 0n;
      log = { containerId: container.containerId, assignmentId: container.assignmentId, epoch: container.epoch, cursorNs: from, lines: [], bytes: 0, dropped: 0, nextId: 0, drained: false };
      this.logs.set(key, log);
    }
    return log;
  }

  private async read(log: ContainerLog): Promise<void> {
    const since = log.cursorNs;
    await this.source.readLogs(log.containerId, since, this.options.readBytes, (line) => {
      // Docker's `since` is inclusive: the line at the cursor was read last time.
      if (line.atNs <= since) return;
      log.cursorNs = line.atNs;
      this.append(log, line);
    });
  }

  private append(log: ContainerLog, line: DecodedLine): void {
    // PostgreSQL text cannot hold NUL, and the API refuses it: shown as the replacement character.
    const text = truncateLine(line.text.replaceAll('\u0000', '\ufffd'), MAX_LOG_LINE_BYTES);
    const bytes = utf8Bytes(text);
    const wireBytes = utf8Bytes(JSON.stringify(text)) + LINE_JSON_OVERHEAD;
    log.lines.push({ id: log.nextId++, stream: line.stream, at: Number(line.atNs / 1_000_000n), text, bytes, wireBytes });
    log.bytes += bytes;
    while (log.lines.length > this.options.bufferLines || log.bytes > this.options.bufferBytes) {
      log.bytes -= log.lines.shift()!.bytes;
      log.dropped += 1;
    }
  }
}
