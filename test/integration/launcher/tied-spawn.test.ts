/**
 * A child spawned tied to its parent dies when the parent is SIGKILLed (no exit handler of the parent runs);
 * one spawned plainly outlives it, which is what left host agents polling after a killed jest worker.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../../..');
const forever = ['-e', 'setInterval(() => {}, 1000)'];

/** Running (a zombie waiting to be reaped by init counts as dead). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Starts a parent process that spawns one child (tied or not), prints the child's pid, and waits. */
async function parentWithChild(tied: boolean): Promise<{ parentPid: number; childPid: number; kill(): void }> {
  const script = `
    const { spawn } = require('node:child_process');
    const { spawnTiedToParent } = require('./scripts/launcher/tied-spawn');
    const child = ${tied ? 'spawnTiedToParent' : 'spawn'}(process.execPath, ${JSON.stringify(forever)}, { stdio: 'ignore' });
    child.once('spawn', () => console.log(child.pid));
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before its child started`)));
    createInterface({ input: parent.stdout! }).once('line', resolve);
  });
  return { parentPid: parent.pid!, childPid: Number(line), kill: () => parent.kill('SIGKILL') };
}

const leftovers: number[] = [];
afterAll(() => leftovers.forEach((pid) => running(pid) && process.kill(pid, 'SIGKILL')));

// setpriv is util-linux's, on every Debian; elsewhere the children are plain ones (see tied-spawn.ts).
const linuxWithSetpriv = process.platform === 'linux' && existsSync('/usr/bin/setpriv');

(linuxWithSetpriv ? it : it.skip)('a tied child dies with its SIGKILLed parent, a plain one does not', async () => {
  const tied = await parentWithChild(true);
  const plain = await parentWithChild(false);
  leftovers.push(tied.childPid, plain.childPid);
  expect(running(tied.childPid)).toBe(true);
  expect(running(plain.childPid)).toBe(true);

  tied.kill();
  plain.kill();
  expect(await until(() => !running(tied.parentPid) && !running(plain.parentPid), 5_000)).toBe(true);
  expect(await until(() => !running(tied.childPid), 5_000)).toBe(true);
  expect(running(plain.childPid)).toBe(true);
}, 30_000);
