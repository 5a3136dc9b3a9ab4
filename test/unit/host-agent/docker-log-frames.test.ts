/** Docker's multiplexed log frames read as lines (workers/host-agent/docker-log-frames.ts). */
import { DockerLogDecoder, dockerSince, parseDockerTime } from '../../../workers/host-agent/docker-log-frames';

function frame(stream: 1 | 2, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

const T1 = '2026-12-01T10:00:00.000000001Z';
const T2 = '2026-12-01T10:00:00.5Z';
const NS1 = BigInt(Date.parse('2026-12-01T10:00:00Z')) * 1_000_000n + 1n;

test('parses timestamps to the nanosecond and writes them back as Docker takes them', () => {
  expect(parseDockerTime(T1)).toBe(NS1);
  expect(parseDockerTime(T2)).toBe(NS1 - 1n + 500_000_000n);
  expect(parseDockerTime('2026-12-01T11:00:00.25+01:00')).toBe(NS1 - 1n + 250_000_000n);
  expect(parseDockerTime('yesterday')).toBeUndefined();
  expect(dockerSince(NS1)).toBe(`${(NS1 - 1n) / 1_000_000_000n}.000000001`);
});

test('stdout and stderr in the order written, whatever the chunking', () => {
  const bytes = Buffer.concat([frame(1, `${T1} out one\n`), frame(2, `${T2} err one\r\n`), frame(1, `${T2} out two\n`)]);
  const expected = [
    { stream: 'stdout', atNs: NS1, text: 'out one' },
    { stream: 'stderr', atNs: NS1 - 1n + 500_000_000n, text: 'err one' },
    { stream: 'stdout', atNs: NS1 - 1n + 500_000_000n, text: 'out two' },
  ];
  expect(new DockerLogDecoder(4096).push(bytes)).toEqual(expected);
  // One byte at a time: headers and payloads split anywhere.
  const decoder = new DockerLogDecoder(4096);
  const lines = [...bytes].flatMap((byte) => decoder.push(Buffer.from([byte])));
  expect(lines).toEqual(expected);
});

test('a message Docker split into parts is one line, dated by its first part; UTF-8 split across parts survives', () => {
  const euro = Buffer.from('€', 'utf8');
  const decoder = new DockerLogDecoder(4096);
  const lines = decoder.push(Buffer.concat([
    frame(1, Buffer.concat([Buffer.from(`${T1} price 5`), euro.subarray(0, 1)])),
    frame(2, `${T2} interleaved\n`),
    frame(1, Buffer.concat([Buffer.from(`${T2} `), euro.subarray(1), Buffer.from(' total\n')])),
  ]));
  expect(lines).toEqual([
    { stream: 'stderr', atNs: NS1 - 1n + 500_000_000n, text: 'interleaved' },
    { stream: 'stdout', atNs: NS1, text: 'price 5€ total' },
  ]);
});

test('a line longer than the bound keeps its start; the rest of it is skipped, the next line is whole', () => {
  const decoder = new DockerLogDecoder(10);
  const lines = decoder.push(Buffer.concat([
    frame(1, `${T1} ${'a'.repeat(8)}`),
    frame(1, `${T1} ${'b'.repeat(50)}`),
    frame(1, `${T1} ${'c'.repeat(50)}\n`),
    frame(1, `${T2} next\n`),
  ]));
  expect(lines.map((l) => l.text)).toEqual(['aaaaaaaabb', 'next']);
});

test('frames without a timestamp and stdin frames are skipped', () => {
  const stdin = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('x\ny\n')]);
  expect(new DockerLogDecoder(100).push(Buffer.concat([frame(1, 'no timestamp\n'), stdin, frame(2, `${T1} ok\n`)])).map((l) => l.text)).toEqual(['ok']);
});
