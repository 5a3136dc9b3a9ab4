/**
 * CPU time and memory of the engine's processes, read from /proc (Linux): each named part is a root
 * process and every live descendant of it (PostgreSQL's backends, a Temporal server's children), so a
 * figure covers the whole part. CPU seconds are utime + stime of the processes alive at both samples.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE_BYTES = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

interface ProcStat {
  pid: number;
  ppid: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** /proc/<pid>/stat; undefined when the process is gone. The name (field 2) may hold spaces: split after its ')'. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss 24.
  const field = (n: number) => Number(fields[n - 3]);
  return { pid, ppid: field(4), cpuSeconds: (field(14) + field(15)) / CLOCK_TICKS, rssBytes: field(24) * PAGE_BYTES };
}

function allProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readProcStat(Number(name)) ?? []);
}

/** The process and all its live descendants, except those under a root in `stopAt` (counted apart). */
export function processTree(rootPid: number, processes = allProcesses(), stopAt: ReadonlySet<number> = new Set()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const root = processes.find((p) => p.pid === rootPid);
  if (!root) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i]!.pid) ?? []).filter((child) => !stopAt.has(child.pid)));
  return tree;
}

/** The first process whose command line holds every one of `parts` (e.g. a server started by a library). */
export function findProcess(parts: string[]): number | undefined {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (parts.every((part) => cmdline.includes(part))) return Number(name);
  }
  return undefined;
}

export interface UsageSample {
  at: number;
  parts: Record<string, { cpuSeconds: number; rssBytes: number; processes: number }>;
}

/**
 * Samples every named part at once (one scan of /proc). A part's descendants that are another part's
 * root are that part's only: the benchmark process, parent of the engine's processes, counts itself.
 */
export function sampleUsage(parts: Record<string, number | undefined>): UsageSample {
  const processes = allProcesses();
  const roots = new Set(Object.values(parts).filter((pid): pid is number => pid !== undefined));
  const out: UsageSample['parts'] = {};
  for (const [name, pid] of Object.entries(parts)) {
    const tree = pid === undefined ? [] : processTree(pid, processes, roots);
    out[name] = {
      cpuSeconds: tree.reduce((sum, p) => sum + p.cpuSeconds, 0),
      rssBytes: tree.reduce((sum, p) => sum + p.rssBytes, 0),
      processes: tree.length,
    };
  }
  return { at: Date.now(), parts: out };
}

export interface PartUsage {
  cpuSecondsPerMinute: number;
  /** Share of one core. */
  cpuCores: number;
  rssMiB: { atEnd: number; max: number };
}

/** CPU seconds per minute between two samples, and the memory seen in `samples` (taken in between). */
export function usageBetween(from: UsageSample, to: UsageSample, samples: UsageSample[]): Record<string, PartUsage> {
  const minutes = (to.at - from.at) / 60_000;
  const out: Record<string, PartUsage> = {};
  for (const name of Object.keys(to.parts)) {
    const cpu = Math.max(0, to.parts[name]!.cpuSeconds - (from.parts[name]?.cpuSeconds ?? 0));
    const rss = [from, ...samples, to].map((s) => s.parts[name]?.rssBytes ?? 0);
    out[name] = {
      cpuSecondsPerMinute: round2(cpu / minutes),
      cpuCores: round2(cpu / (minutes * 60)),
      rssMiB: { atEnd: mib(to.parts[name]!.rssBytes), max: mib(Math.max(...rss)) },
    };
  }
  return out;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
