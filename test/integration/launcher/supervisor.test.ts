import { PassThrough } from 'node:stream';
import { Supervisor } from '../../../scripts/launcher/supervisor';

const node = process.execPath;
const forever = ['-e', 'console.log("up " + process.pid); setInterval(() => {}, 1000)'];
const dieSoon = ['-e', 'console.log("up " + process.pid); setTimeout(() => process.exit(3), 200)'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Supervisor', () => {
  let output: string;
  let supervisor: Supervisor;
  const spawned: { name: string; pid: number; restarts: number }[] = [];
  const exits: string[] = [];

  beforeEach(() => {
    output = '';
    spawned.length = 0;
    exits.length = 0;
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => (output += chunk.toString()));
    supervisor = new Supervisor({
      out,
      restartDelayMs: 100,
      stopTimeoutMs: 2_000,
      onSpawn: (name, pid, restarts) => spawned.push({ name, pid, restarts }),
      onExit: (name, description) => exits.push(`${name}: ${description}`),
    });
  });

  afterEach(async () => {
    await supervisor.stop();
  });

  it('restarts an engine process that dies, with a new pid reported', async () => {
    supervisor.start({ name: 'api', command: node, args: dieSoon, restart: true });
    await until(() => supervisor.restarts('api') >= 2);
    const pids = spawned.filter((entry) => entry.name === 'api').map((entry) => entry.pid);
    expect(new Set(pids).size).toBeGreaterThanOrEqual(3);
    expect(output).toMatch(/^api \| up \d+$/m);
    expect(output).toMatch(/^api \| exited with code 3; restarting in \d+ ms$/m);
  });

  it('leaves a non-restartable process dead', async () => {
    supervisor.start({ name: 'host-a', command: node, args: dieSoon, restart: false });
    await until(() => output.includes('not restarted'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(supervisor.restarts('host-a')).toBe(0);
    expect(supervisor.pid('host-a')).toBeUndefined();
    expect(exits).toEqual(['host-a: exited with code 3']);
    expect(output).toMatch(/^host-a \| exited with code 3; not restarted$/m);
  });

  it('prefixes stderr too, padded to the longest role', async () => {
    supervisor.start({ name: 'temporal', command: node, args: forever, restart: true });
    supervisor.start({ name: 'api', command: node, args: ['-e', 'console.error("oops")'], restart: false });
    await until(() => output.includes('oops'));
    expect(output).toMatch(/^api {6}\| oops$/m);
  });

  it('stops every process it started, a SIGTERM-ignoring one with SIGKILL, and restarts none', async () => {
    const stubborn = ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'];
    supervisor.start({ name: 'temporal', command: node, args: forever, restart: true });
    supervisor.start({ name: 'control-worker', command: node, args: stubborn, restart: true });
    supervisor.start({ name: 'host-b', command: node, args: forever, restart: false });
    await until(() => (output.match(/\| up/g) ?? []).length === 3);
    const pids = Object.values(supervisor.pids()) as number[];
    expect(pids).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);

    await supervisor.stop();

    expect(pids.some(alive)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(spawned).toHaveLength(3);
    expect(supervisor.pids()).toEqual({ temporal: undefined, 'control-worker': undefined, 'host-b': undefined });
  });

  it('killAllNow kills every process group at once, synchronously, and restarts none', async () => {
    supervisor.start({ name: 'api', command: node, args: forever, restart: true });
    supervisor.start({ name: 'host-c', command: node, args: forever, restart: false });
    await until(() => (output.match(/\| up/g) ?? []).length === 2);
    const pids = Object.values(supervisor.pids()) as number[];

    supervisor.killAllNow();

    await until(() => !pids.some(alive));
    await until(() => exits.length === 2);
    expect(exits.sort()).toEqual(['api: killed by SIGKILL', 'host-c: killed by SIGKILL']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(spawned).toHaveLength(2);
  });
});
