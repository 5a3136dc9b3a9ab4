/** Polls the API until it and the demo hosts are up; fails fast when a process it waits for is gone. */
export interface WaitOptions {
  timeoutMs?: number;
  /** Names a process that died meanwhile (so the wait can stop), or undefined while all live. */
  deadProcess?: () => string | undefined;
}

async function poll(what: string, check: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = opts.deadProcess?.();
    if (dead !== undefined) throw new Error(`${dead} exited (or keeps exiting) while waiting for ${what}; its output is above`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function waitForApi(apiUrl: string, opts: WaitOptions = {}): Promise<void> {
  await poll(`the API at ${apiUrl}/healthz`, async () => (await fetch(`${apiUrl}/healthz`)).ok, opts);
}

interface HostView {
  hostId: string;
  status: string;
  lastHeartbeatAt: string | null;
}

/**
 * Every host in `hostIds` shows in GET /v1/hosts as online with a heartbeat at or after `since`: the
 * database remembers hosts from the last run as online until the engine notices they are gone, so only
 * a fresh heartbeat says that this run's agent is up.
 */
export async function waitForHostsOnline(
  apiUrl: string,
  hostIds: string[],
  since: Date,
  opts: WaitOptions = {},
): Promise<void> {
  const fresh = (host: HostView) =>
    host.status === 'online' && host.lastHeartbeatAt !== null && Date.parse(host.lastHeartbeatAt) >= since.getTime();
  await poll(`hosts ${hostIds.join(', ')} to be online`, async () => {
    const response = await fetch(`${apiUrl}/v1/hosts`);
    if (!response.ok) return false;
    const online = new Set(((await response.json()) as HostView[]).filter(fresh).map((host) => host.hostId));
    return hostIds.every((id) => online.has(id));
  }, opts);
}
