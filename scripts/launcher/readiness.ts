/** Polls the chain node, the API and the demo hosts until they are up; fails fast when a process it waits for is gone. */
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

/** One JSON-RPC call; a JSON-RPC error or an HTTP failure throws. */
async function rpcCall(rpcUrl: string, method: string): Promise<unknown> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
  });
  if (!response.ok) throw new Error(`${method}: HTTP ${response.status}`);
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? 'error'}`);
  return body.result;
}

/** Healthy, and able to hand out a blockhash: what every transaction the engine sends starts with. */
export async function waitForChain(rpcUrl: string, opts: WaitOptions = {}): Promise<void> {
  await poll(`the Solana JSON-RPC at ${rpcUrl}`, async () =>
    (await rpcCall(rpcUrl, 'getHealth')) === 'ok' && (await rpcCall(rpcUrl, 'getLatestBlockhash')) != null, opts);
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
