/** The agent's side of container logs: cursors, bounded buffers and report batches (workers/host-agent/log-shipper.ts). */
import type { DecodedLine } from '../../../workers/host-agent/docker-log-frames';
import type { LogShipperOptions, LogSource } from '../../../workers/host-agent/log-shipper';
import { LogShipper } from '../../../workers/host-agent/log-shipper';
import type { LeaseContainer } from '../../../workers/host-agent/reconcile';

const MS = 1_000_000n;
const BASE = 1_780_000_000_000;

/** A Docker log in memory: readLogs answers the lines at or after `since`, as Docker does. */
class FakeDocker implements LogSource {
  readonly lines = new Map<string, DecodedLine[]>();
  readonly sinces: bigint[] = [];
  write(containerId: string, at: number, text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    const list = this.lines.get(containerId) ?? [];
    list.push({ stream, atNs: BigInt(at) * MS, text });
    this.lines.set(containerId, list);
  }
  async readLogs(containerId: string, sinceNs: bigint, _maxBytes: number, onLine: (line: DecodedLine) => void): Promise<void> {
    this.sinces.push(sinceNs);
    for (const line of this.lines.get(containerId) ?? []) if (line.atNs >= sinceNs) onLine(line);
  }
}

const container = (over: Partial<LeaseContainer> = {}): LeaseContainer => ({
  containerId: 'c1', leaseId: 'l1', assignmentId: 'a1', epoch: 1, gpuId: 'g', state: 'running', createdAt: BASE + 10, ...over,
});
const wanted = new Set(['a1@1']);
const options = (over: Partial<LogShipperOptions> = {}): LogShipperOptions => ({ bufferLines: 100, bufferBytes: 10_000, readBytes: 1_000_000, startedAt: BASE, ...over });

test('each line is shipped once: the cursor moves past what was read, and acknowledged lines leave', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  docker.write('c1', BASE + 100, 'one');
  docker.write('c1', BASE + 200, 'two', 'stderr');
  await shipper.collect([container()], wanted);
  const first = shipper.pending();
  expect(first).toEqual([{ assignmentId: 'a1', epoch: 1, upTo: 1, lines: [
    { stream: 'stdout', at: BASE + 100, text: 'one' }, { stream: 'stderr', at: BASE + 200, text: 'two' },
  ] }]);
  shipper.acknowledge(first);
  docker.write('c1', BASE + 300, 'three');
  await shipper.collect([container()], wanted);
  expect(docker.sinces.at(-1)).toBe(BigInt(BASE + 200) * MS);
  expect(shipper.pending()[0]!.lines.map((l) => l.text)).toEqual(['three']);
});

test('unacknowledged lines are sent again; lines read meanwhile are kept', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  docker.write('c1', BASE + 100, 'one');
  await shipper.collect([container()], wanted);
  const inFlight = shipper.pending();
  docker.write('c1', BASE + 200, 'two');
  await shipper.collect([container()], wanted);
  expect(shipper.pending()[0]!.lines.map((l) => l.text)).toEqual(['one', 'two']);
  shipper.acknowledge(inFlight);
  expect(shipper.pending()[0]!.lines.map((l) => l.text)).toEqual(['two']);
});

test('with the API away the buffer keeps the newest lines and counts the dropped ones until they are told', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options({ bufferLines: 3 }));
  for (let i = 0; i < 10; i += 1) docker.write('c1', BASE + 100 + i, `line ${i}`);
  await shipper.collect([container()], wanted);
  const batch = shipper.pending();
  expect(batch[0]!.dropped).toBe(7);
  expect(batch[0]!.lines.map((l) => l.text)).toEqual(['line 7', 'line 8', 'line 9']);
  shipper.acknowledge(batch);
  expect(shipper.pending()).toEqual([]);
});

test('the byte bound holds too, and long lines are cut to the protocol limit', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options({ bufferBytes: 9_000 }));
  for (let i = 0; i < 3; i += 1) docker.write('c1', BASE + 100 + i, 'x'.repeat(10_000));
  await shipper.collect([container()], wanted);
  const [batch] = shipper.pending();
  expect(batch!.lines).toHaveLength(2);
  expect(batch!.dropped).toBe(1);
  expect(batch!.lines.every((l) => Buffer.byteLength(l.text) <= 4096 && l.text.endsWith('…[truncated]'))).toBe(true);
});

test('NUL, which no store keeps, is shipped as the replacement character; control characters count as their JSON escapes', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  docker.write('c1', BASE + 100, 'a\u0000b');
  docker.write('c1', BASE + 101, '\u0001'.repeat(100));
  await shipper.collect([container()], wanted);
  expect(shipper.pending()[0]!.lines[0]!.text).toBe('a\ufffdb');
  // 100 control characters are 600 bytes of JSON: they do not fit a 500-byte report.
  expect(shipper.pending(1000, 500)[0]!.lines).toHaveLength(1);
});

test('a report carries at most its line and byte budget, oldest first', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  for (let i = 0; i < 50; i += 1) docker.write('c1', BASE + 100 + i, `l${i}`);
  await shipper.collect([container()], wanted);
  expect(shipper.pending(20)[0]!.lines).toHaveLength(20);
  // Each short line costs its JSON string and the object around it (48).
  expect(shipper.pending(1000, 4 * 52)[0]!.lines.map((l) => l.text)).toEqual(['l0', 'l1', 'l2', 'l3']);
});

test('a container older than the agent is read from the agent\'s start; an exited one once more, then left alone', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  docker.write('c1', BASE - 50, 'shipped by the agent before');
  docker.write('c1', BASE + 50, 'new');
  await shipper.collect([container({ createdAt: BASE - 1_000 })], wanted);
  expect(shipper.pending()[0]!.lines.map((l) => l.text)).toEqual(['new']);
  await shipper.collect([container({ state: 'exited' })], wanted);
  await shipper.collect([container({ state: 'exited' })], wanted);
  expect(docker.sinces).toHaveLength(2);
});

test('containers of assignments no longer wanted are forgotten', async () => {
  const docker = new FakeDocker();
  const shipper = new LogShipper(docker, options());
  docker.write('c1', BASE + 100, 'one');
  await shipper.collect([container()], wanted);
  await shipper.collect([container()], new Set());
  expect(shipper.pending()).toEqual([]);
});
