import type { ChildProcess } from 'node:child_process';
import { spawnTiedToParent } from './tied-spawn';
import readline from 'node:readline';

export interface ProcessSpec {
  /** The role: prefixes every output line and names the process in pid maps. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user and group (a root launcher runs PostgreSQL as `postgres`). */
  uid?: number;
  gid?: number;
  /** Engine processes come back when they die; host agents do not (their loss is what failover is for). */
  restart: boolean;
}

export interface SupervisorOptions {
  /** Where prefixed child output goes (stdout by default). */
  out?: NodeJS.WritableStream;
  /** First restart delay; doubles while a process keeps dying young (default 1 s). */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** A process that lived this long resets its back-off (default 30 s). */
  stableAfterMs?: number;
  /** SIGTERM first; SIGKILL after this long (default 10 s). */
  stopTimeoutMs?: number;
  /** Every spawn, first and restarts: the launcher rewrites data/demo.json with the new pid. */
  onSpawn?: (name: string, pid: number, restarts: number) => void;
  /** Every exit, whether or not a restart follows. */
  onExit?: (name: string, description: string) => void;
}

interface Entry {
  spec: ProcessSpec;
  child?: ChildProcess;
  exited?: Promise<void>;
  startedAt: number;
  restarts: number;
  youngDeaths: number;
  restartTimer?: NodeJS.Timeout;
  stopping: boolean;
}

/** Spawns, prefixes, restarts with back-off, and stops child processes; nothing is left behind. */
export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly out: NodeJS.WritableStream;
  private readonly width: () => number;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.out = opts.out ?? process.stdout;
    this.width = () => Math.max(0, ...[...this.entries.keys()].map((name) => name.length));
  }

  start(spec: ProcessSpec): void {
    if (this.entries.has(spec.name)) throw new Error(`a process named ${spec.name} is already supervised`);
    const entry: Entry = { spec, startedAt: 0, restarts: 0, youngDeaths: 0, stopping: false };
    this.entries.set(spec.name, entry);
    this.spawn(entry);
  }

  pid(name: string): number | undefined {
    const child = this.entries.get(name)?.child;
    return child && isAlive(child) ? child.pid : undefined;
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.entries.keys()].map((name) => [name, this.pid(name)]));
  }

  restarts(name: string): number {
    return this.entries.get(name)?.restarts ?? 0;
  }

  /**
   * Last resort for the launcher's own `exit` event (synchronous): SIGKILL every process group still
   * alive, so that no child outlives a launcher that is going away without a clean stop.
   */
  killAllNow(): void {
    for (const entry of this.entries.values()) {
      entry.stopping = true;
      clearTimeout(entry.restartTimer);
      if (entry.child && isAlive(entry.child)) signalGroup(entry.child, 'SIGKILL');
    }
  }

  /** Stops the named processes (all when omitted), together, and waits until they are gone. */
  async stop(names: string[] = [...this.entries.keys()]): Promise<void> {
    await Promise.all(names.map((name) => this.stopOne(name)));
  }

  private async stopOne(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.stopping = true;
    clearTimeout(entry.restartTimer);
    const child = entry.child;
    if (!child || !isAlive(child)) return;
    signalGroup(child, 'SIGTERM');
    const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), this.opts.stopTimeoutMs ?? 10_000);
    await entry.exited;
    clearTimeout(killer);
  }

  private spawn(entry: Entry): void {
    const { spec } = entry;
    // Own process group: a terminal's Ctrl-C reaches the launcher only, which then stops children in
    // order (engine processes before Temporal), and a group kill also reaches their own children. Tied to
    // the launcher: a launcher SIGKILLed leaves no server holding the ports the next start needs.
    const child = spawnTiedToParent(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      uid: spec.uid,
      gid: spec.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    entry.child = child;
    entry.startedAt = Date.now();
    this.prefix(spec.name, child.stdout);
    this.prefix(spec.name, child.stderr);
    entry.exited = new Promise((resolve) => {
      let done = false;
      const onExit = (description: string) => {
        if (done) return;
        done = true;
        resolve();
        this.exited(entry, description);
      };
      child.once('exit', (code, signal) => onExit(signal ? `killed by ${signal}` : `exited with code ${code}`));
      child.once('error', (error) => onExit(`could not run: ${error.message}`));
    });
    if (child.pid !== undefined) this.opts.onSpawn?.(spec.name, child.pid, entry.restarts);
  }

  private exited(entry: Entry, description: string): void {
    const { spec } = entry;
    this.opts.onExit?.(spec.name, description);
    if (entry.stopping) return;
    if (!spec.restart) {
      this.line(spec.name, `${description}; not restarted`);
      return;
    }
    const lived = Date.now() - entry.startedAt;
    entry.youngDeaths = lived >= (this.opts.stableAfterMs ?? 30_000) ? 0 : entry.youngDeaths + 1;
    const base = this.opts.restartDelayMs ?? 1_000;
    const delay = Math.min(base * 2 ** Math.max(0, entry.youngDeaths - 1), this.opts.maxRestartDelayMs ?? 30_000);
    this.line(spec.name, `${description}; restarting in ${delay} ms`);
    entry.restartTimer = setTimeout(() => {
      if (entry.stopping) return;
      entry.restarts += 1;
      this.spawn(entry);
    }, delay);
  }

  private prefix(name: string, stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.line(name, line));
  }

  private line(name: string, text: string): void {
    this.out.write(`${name.padEnd(this.width())} | ${text}\n`);
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already (or never formed): signal the process itself.
    child.kill(signal);
  }
}
