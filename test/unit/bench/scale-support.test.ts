import { processTree, readProcStat, sampleUsage, usageBetween } from '../../../bench/support/process-usage';
import type { UsageSample } from '../../../bench/support/process-usage';
import { sumCounter } from '../../../bench/support/prometheus';

describe('sumCounter', () => {
  it('sums one counter over its labels and ignores counters that only start with its name', () => {
    const page = [
      '# HELP lease_engine_http_requests_total HTTP requests answered',
      '# TYPE lease_engine_http_requests_total counter',
      'lease_engine_http_requests_total{method="POST",route="/v1/hosts/:hostId/reports",status="200"} 120',
      'lease_engine_http_requests_total{method="GET",route="/v1/hosts/:hostId/desired",status="200"} 30',
      'lease_engine_http_requests_total_created{method="GET"} 1796122000',
      'lease_engine_receipts_total{outcome="accepted"} 99',
    ].join('\n');
    expect(sumCounter(page, 'lease_engine_http_requests_total')).toBe(150);
    expect(sumCounter(page, 'lease_engine_missing_total')).toBe(0);
  });
});

describe('process usage', () => {
  it('reads this process from /proc, and finds it in its own tree', () => {
    const me = readProcStat(process.pid)!;
    expect(me.ppid).toBe(process.ppid);
    expect(me.cpuSeconds).toBeGreaterThan(0);
    expect(me.rssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(processTree(process.ppid).map((p) => p.pid)).toContain(process.pid);
    expect(readProcStat(2 ** 30)).toBeUndefined();
  });

  it('gives CPU seconds per minute between two samples and the most memory seen', () => {
    const sample = (at: number, cpuSeconds: number, rssBytes: number): UsageSample => ({ at, parts: { api: { cpuSeconds, rssBytes, processes: 1 } } });
    const usage = usageBetween(sample(0, 10, 100 * 2 ** 20), sample(120_000, 70, 150 * 2 ** 20), [sample(60_000, 40, 300 * 2 ** 20)]);
    expect(usage.api).toEqual({ cpuSecondsPerMinute: 30, cpuCores: 0.5, rssMiB: { atEnd: 150, max: 300 } });
  });
});

describe('sampleUsage', () => {
  it('counts a part that is another part\'s parent without that part', () => {
    const both = sampleUsage({ parent: process.ppid, me: process.pid });
    const alone = sampleUsage({ parent: process.ppid });
    expect(both.parts.parent!.processes).toBe(alone.parts.parent!.processes - both.parts.me!.processes);
  });
});
