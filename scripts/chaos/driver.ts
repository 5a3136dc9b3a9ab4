/**
 * The storm: SIGKILL a randomly chosen process at random moments, `kills` times, then bring it back. Every kind
 * of process the stack runs is killed at least once when `kills` allows (the first kills go through the
 * kinds in a seeded random order, the rest pick kinds at random), and a victim of each kind is chosen at
 * random among its instances (api-1 or api-2, one host agent of four). Kills never overlap: the next waits
 * until the last victim is back and working, so that each recovery is timed and each failure has one cause.
 */
import type { ChaosStack, ChaosTarget, ProcessKind } from './stack';
import type { Random } from './prng';

export interface StormOptions {
  kills: number;
  random: Random;
  /** Random pause before each kill, ms. */
  gapMs: [number, number];
  /** How long a process the driver restarts stays dead, ms (the launcher's come back on their own). */
  downMs: [number, number];
  recoveryTimeoutMs: number;
  /** Kinds to leave alone (say, the Temporal dev server of a stack that keeps it in memory). */
  spare?: ProcessKind[];
  onKill?: (kill: KillRecord) => void;
}

export interface KillRecord {
  /** ms since the storm began. */
  at: number;
  name: string;
  kind: ProcessKind;
  pid: number;
  restartedBy: 'launcher' | 'driver';
  /** Time from the SIGKILL until a new process was back and working (answering, polling, reporting). */
  recoveredMs?: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function kindsOf(targets: ChaosTarget[], spare: ProcessKind[] = []): ProcessKind[] {
  return [...new Set(targets.map((t) => t.kind))].filter((kind) => !spare.includes(kind)).sort();
}

export async function runStorm(stack: ChaosStack, opts: StormOptions): Promise<KillRecord[]> {
  const { random } = opts;
  const kinds = kindsOf(stack.targets(), opts.spare);
  if (kinds.length === 0) throw new Error('nothing to kill');
  const order = [...random.shuffle(kinds), ...Array.from({ length: Math.max(0, opts.kills - kinds.length) }, () => random.pick(kinds))].slice(0, opts.kills);
  const started = Date.now();
  const kills: KillRecord[] = [];
  for (const kind of order) {
    await sleep(random.int(opts.gapMs[0], opts.gapMs[1]));
    const candidates = stack.targets().filter((t) => t.kind === kind && stack.pid(t) !== undefined);
    if (candidates.length === 0) {
      kills.push({ at: Date.now() - started, name: '-', kind, pid: 0, restartedBy: 'launcher', error: `no live ${kind} to kill` });
      continue;
    }
    const target = random.pick(candidates);
    const killedAt = Date.now();
    const record: KillRecord = { at: killedAt - started, name: target.name, kind, pid: 0, restartedBy: target.restartedBy };
    try {
      record.pid = await stack.kill(target);
      if (target.restartedBy === 'driver') {
        await sleep(random.int(opts.downMs[0], opts.downMs[1]));
        await stack.restart(target);
      }
      await stack.recovered(target, record.pid, opts.recoveryTimeoutMs);
      record.recoveredMs = Date.now() - killedAt;
    } catch (error) {
      record.error = (error as Error).message;
    }
    kills.push(record);
    opts.onKill?.(record);
  }
  return kills;
}
