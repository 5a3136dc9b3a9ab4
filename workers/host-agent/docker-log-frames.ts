/**
 * Docker's multiplexed log stream (a container without a TTY), read as lines: each frame is an 8-byte
 * header (stream type: 1 stdout, 2 stderr; 3 zero bytes; payload length, big-endian uint32) and a
 * payload that, asked with `timestamps=1`, is "<RFC 3339 time with nanoseconds> <message>". Docker
 * splits a message longer than 16 KiB into several frames, the last ending with its newline: the parts
 * are joined here up to a bound, the rest of such a line skipped. Pure, so it is tested byte by byte.
 */
import type { LogStream } from '../../domain/container-logs';

export interface DecodedLine {
  stream: LogStream;
  /** Docker's timestamp of the line (of its first part), unix nanoseconds. */
  atNs: bigint;
  text: string;
}

interface Partial {
  atNs: bigint;
  parts: Buffer[];
  bytes: number;
  /** Over the bound: the rest of this line is dropped, up to its newline. */
  skipping: boolean;
}

const HEADER_BYTES = 8;
const STREAMS: Record<number, LogStream | undefined> = { 1: 'stdout', 2: 'stderr' };

export class DockerLogDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial = new Map<LogStream, Partial>();

  /** @param maxLineBytes a line's parts are joined up to this many bytes; a longer line keeps its start only. */
  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): DecodedLine[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: DecodedLine[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_BYTES + size) break;
      const stream = STREAMS[this.pending.readUInt8(0)];
      const payload = this.pending.subarray(HEADER_BYTES, HEADER_BYTES + size);
      this.pending = this.pending.subarray(HEADER_BYTES + size);
      // stdin (0) is never in a log; anything else is not a frame we know.
      if (stream) this.frame(stream, payload, lines);
    }
    return lines;
  }

  private frame(stream: LogStream, payload: Buffer, out: DecodedLine[]): void {
    const space = payload.indexOf(0x20);
    const atNs = space > 0 ? parseDockerTime(payload.subarray(0, space).toString('latin1')) : undefined;
    // Without a timestamp the frame is not what was asked for: skip it rather than misdate it.
    if (atNs === undefined) return;
    let message = payload.subarray(space + 1);
    for (;;) {
      const newline = message.indexOf(0x0a);
      const part = newline < 0 ? message : message.subarray(0, newline);
      const current = this.partial.get(stream) ?? { atNs, parts: [], bytes: 0, skipping: false };
      if (!current.skipping) {
        const room = this.maxLineBytes - current.bytes;
        current.parts.push(part.length > room ? part.subarray(0, Math.max(0, room)) : part);
        current.bytes += Math.min(part.length, Math.max(0, room));
        current.skipping = part.length > room;
      }
      if (newline < 0) {
        this.partial.set(stream, current);
        return;
      }
      this.partial.delete(stream);
      out.push({ stream, atNs: current.atNs, text: Buffer.concat(current.parts).toString('utf8').replace(/\r$/, '') });
      message = message.subarray(newline + 1);
      if (message.length === 0) return;
    }
  }
}

const DOCKER_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** "2026-12-01T10:00:00.123456789Z" as unix nanoseconds; undefined for anything else. */
export function parseDockerTime(text: string): bigint | undefined {
  const match = DOCKER_TIME.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (!Number.isFinite(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Unix nanoseconds as Docker's `since` parameter takes them: "<seconds>.<nanoseconds>". */
export function dockerSince(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}
