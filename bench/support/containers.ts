/** Docker as the benchmarks see it: lease containers found by label, and the bare `docker run` floor. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { sleep } from './lifecycle';

const exec = promisify(execFile);
const POLL_MS = 50;

/** Containers carrying every one of `labels` ("key=value"), running or not. */
export async function listByLabels(docker: Docker, labels: string[], all = true): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all, filters: { label: labels } });
}

/** Polls until `count` containers with these labels run; returns the wall time it first saw them (ms). */
export async function waitForRunning(docker: Docker, labels: string[], count: number, timeoutMs: number, accept?: (c: Docker.ContainerInfo) => boolean): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = (await listByLabels(docker, labels, false)).filter((c) => c.State === 'running' && (accept?.(c) ?? true));
    if (running.length >= count) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} running containers labelled ${labels.join(', ')} (saw ${running.length})`);
    await sleep(POLL_MS);
  }
}

export async function waitForGone(docker: Docker, labels: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await listByLabels(docker, labels)).length > 0) {
    if (Date.now() > deadline) throw new Error(`containers labelled ${labels.join(', ')} still there after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Docker's own record of when each container's process started (unix ms), for exact figures beside the polled ones. */
export async function startedAtTimes(docker: Docker, labels: string[]): Promise<number[]> {
  const found = await listByLabels(docker, labels);
  const inspected = await Promise.all(found.map((c) => docker.getContainer(c.Id).inspect()));
  return inspected.map((i) => Date.parse(i.State.StartedAt)).filter((t) => Number.isFinite(t) && t > 0);
}

/** Force-removes every container with any one of `labels`. */
export async function removeContainers(docker: Docker, labels: string[]): Promise<number> {
  let removed = 0;
  for (const label of labels) {
    for (const c of await listByLabels(docker, [label])) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      removed += 1;
    }
  }
  return removed;
}

export const BARE_LABEL = 'lease-engine-bench.bare';

export interface BareRunOptions {
  count: number;
  image: string;
  command: string[];
  parallel: boolean;
  /** `--init`, as the host agent creates its containers (Init: true). */
  init: boolean;
}

/**
 * Time (ms) to start `count` containers with the docker CLI, `docker run -d` returning once each one
 * runs: the physical floor a lease start is measured against. The containers are removed afterwards, untimed.
 */
export async function timeBareDockerRun(docker: Docker, options: BareRunOptions): Promise<number> {
  const batch = randomBytes(4).toString('hex');
  const args = (i: number) => [
    'run', '-d', '--network', 'none', ...(options.init ? ['--init'] : []),
    '--label', `${BARE_LABEL}=${batch}`, '--name', `le-bench-bare-${batch}-${i}`,
    options.image, ...options.command,
  ];
  const indexes = [...Array(options.count).keys()];
  const started = performance.now();
  try {
    if (options.parallel) {
      await Promise.all(indexes.map((i) => exec('docker', args(i))));
    } else {
      for (const i of indexes) await exec('docker', args(i));
    }
    const elapsed = performance.now() - started;
    const running = (await listByLabels(docker, [`${BARE_LABEL}=${batch}`], false)).length;
    if (running !== options.count) throw new Error(`bare docker run: ${running} of ${options.count} containers running`);
    return elapsed;
  } finally {
    await removeContainers(docker, [`${BARE_LABEL}=${batch}`]);
  }
}

/**
 * The same containers started through the Engine API (create, then start, all in parallel), as the
 * host agent does with dockerode (Init included): Docker's own cost, without the CLI's process starts.
 */
export async function timeDockerApiStart(docker: Docker, options: Omit<BareRunOptions, 'parallel' | 'init'>): Promise<number> {
  const batch = randomBytes(4).toString('hex');
  const started = performance.now();
  try {
    await Promise.all(
      [...Array(options.count).keys()].map(async (i) => {
        const container = await docker.createContainer({
          name: `le-bench-api-${batch}-${i}`,
          Image: options.image,
          Cmd: options.command,
          Labels: { [BARE_LABEL]: batch },
          HostConfig: { NetworkMode: 'none', Init: true },
        });
        await container.start();
      }),
    );
    return performance.now() - started;
  } finally {
    await removeContainers(docker, [`${BARE_LABEL}=${batch}`]);
  }
}
