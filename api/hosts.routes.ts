/**
 * /v1/hosts: providers register hosts (provider key + host signature), hosts heartbeat (host
 * signature only), anyone lists them. A host is not trusted: its tier comes from its provider, and
 * every request it makes must be signed by the key it registered.
 */
import { Router } from 'express';
import { parseTokenAmount } from '../domain/money';
import type { Tier } from '../domain/tier';
import { findHost, listHosts, liveAssignmentsOf, recordHeartbeat, registerHost } from '../infra/db/repositories/hosts.repo';
import { currentProvider, requireProvider, verifyHostRequest } from './auth';
import { jsonBody } from './body';
import type { AppDeps } from './deps';
import { parseOrThrow, problems } from './errors';
import { HeartbeatRequest, HostId, RegisterHostRequest } from './schemas/hosts.schemas';
import { toHostView } from './views';

export function hostsRouter({ db, now }: Pick<AppDeps, 'db'> & { now: () => number }): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    res.json((await listHosts(db)).map(toHostView));
  });

  router.post('/register', requireProvider(db), ...jsonBody, async (req, res) => {
    const provider = currentProvider(res);
    const request = parseOrThrow(RegisterHostRequest, req.body);
    // Proves the caller holds the key it registers, so no one can register a host under someone else's key.
    verifyHostRequest(req, request.hostId, request.publicKey, now());
    const tier = provider.tier as Tier;
    await registerHost(db, {
      hostId: request.hostId,
      providerId: provider.id,
      publicKey: request.publicKey,
      tier,
      gpuSource: request.gpuSource,
      gpus: request.gpus.map((gpu) => ({ ...gpu, pricePerGpuHour: parseTokenAmount(gpu.pricePerGpuHour) })),
      now: new Date(now()),
    });
    res.json({ hostId: request.hostId, providerId: provider.id, tier });
  });

  router.post('/:hostId/heartbeat', ...jsonBody, async (req, res) => {
    const hostId = String(req.params.hostId);
    const host = HostId.safeParse(hostId).success ? await findHost(db, hostId) : undefined;
    if (!host) throw problems.notFound(`host ${hostId} is not registered`);
    verifyHostRequest(req, host.id, host.public_key, now());
    parseOrThrow(HeartbeatRequest, req.body);
    await recordHeartbeat(db, host.id, new Date(now()));
    res.json({ liveAssignments: await liveAssignmentsOf(db, host.id) });
  });

  return router;
}
