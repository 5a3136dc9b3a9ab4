/**
 * Child processes that die with their parent.
 *
 * A process SIGKILLed (a jest worker killed on timeout, a launcher killed by an operator) runs none of its
 * exit handlers, so the children it started keep running: host agents polling an API that is gone, servers
 * holding the ports the next run needs (one such leftover failed a CI run here). Linux's parent-death
 * signal (prctl PR_SET_PDEATHSIG) ends them with their parent; util-linux's setpriv sets it and then execs
 * the command, so the child keeps its pid and its signals. Elsewhere the command is spawned as it is.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';
const canTie = process.platform === 'linux' && existsSync(SETPRIV);

/** `spawn(command, args, options)`, with the child SIGKILLed by the kernel when this process dies. */
export function spawnTiedToParent(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return canTie ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options) : spawn(command, args, options);
}
