/**
 * /v1/hosts: providers register hosts (provider key + host signature); hosts long-poll their desired
 * state and report containers and receipts (host signature only); anyone lists them. A host is not
 * trusted (DESIGN §8): its tier comes from its provider, every request it makes must be signed by the
 * key it registered, it sees only its own assignments, and whatever it sends is validated in full
 * before anything is written.
 */
import { Router } from 'express';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { parseTokenAmount } from '../domain/money';
import type { Tier } from '../domain/tier';
import { desiredStateOf } from '../infra/db/repositories/desired-state.repo';
import { findHost, listHosts, registerHost } from '../infra/db/repositories/hosts.repo';
import { currentProvider, requireProvider, verifyHostRequest } from './auth';
import { jsonBody, jsonBodyUpTo } from './body';
import type { AppDeps } from './deps';
import type { DesiredStateWatch } from './desired-state-watch';
import { parseOrThrow, problems } from './errors';
import type { ReportPolicy } from './host-reports';
import { acceptReport } from './host-reports';
import { HostRateLimit } from './host-rate-limit';
import type { ReportAdmission } from './report-admission';
import { checkReportLogs, storeReportLogs } from './report-logs';
import type { ApiMetrics } from './metrics';
import { DesiredStateQuery, HostId, HostReportRequest, RegisterHostRequest } from './schemas/hosts.schemas';
import { toHostView } from './views';

/** Host keys an API process keeps in memory (32 bytes of base58 each); past this many it starts again. */
const MAX_KNOWN_HOST_KEYS = 100_000;

/** Reports carry up to MAX_REPORT_RECEIPTS receipts of about 1 kB each. */
export const MAX_REPORT_BYTES = 512 * 1024;

interface HostsRouterDeps extends Pick<AppDeps, 'db' | 'logPolicy'> {
  now: () => number;
  watch: DesiredStateWatch;
  reportPolicy?: ReportPolicy;
  rateLimit?: HostRateLimit;
  logger?: Logger;
  metrics?: Pick<ApiMetrics, 'recordReport'>;
  /** Bounds the reports worked on at once; unbounded when absent. */
  reportAdmission?: ReportAdmission;
}

export function hostsRouter({ db, now, watch, reportPolicy, rateLimit = new HostRateLimit(), logger, metrics, logPolicy, reportAdmission }: HostsRouterDeps): Router {
  const router = Router();
  // After the body (a slow sender holds no slot), before the signature and the database (a refusal is cheap).
  const admitted: RequestHandler[] = reportAdmission ? [reportAdmission.middleware(logger)] : [];

  // A host's key never changes (registering it again with another is refused) and hosts are never
  // deleted: a key read once serves that host's later requests without a query. Only found hosts are kept.
  const hostKeys = new Map<string, string>();

  /** The id of the host the path names, when the request is signed by its key; 404 and 401 otherwise. */
  async function signedHost(req: Request): Promise<string> {
    const hostId = String(req.params.hostId);
    let publicKey = hostKeys.get(hostId);
    if (publicKey === undefined) {
      const host = HostId.safeParse(hostId).success ? await findHost(db, hostId) : undefined;
      if (!host) throw problems.notFound(`host ${hostId} is not registered`);
      publicKey = host.public_key;
      if (hostKeys.size >= MAX_KNOWN_HOST_KEYS) hostKeys.clear();
      hostKeys.set(hostId, publicKey);
    }
    verifyHostRequest(req, hostId, publicKey, now());
    return hostId;
  }

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

  router.get('/:hostId/desired', async (req, res) => {
    const hostId = await signedHost(req);
    const query = parseOrThrow(DesiredStateQuery, req.query, 'query');
    let state = await desiredStateOf(db, hostId);
    if (state && state.version <= query.after && query.waitMs > 0) {
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      const changed = await watch.waitForChange(hostId, query.after, query.waitMs, gone.signal);
      if (changed) state = await desiredStateOf(db, hostId);
    }
    if (!state) throw problems.notFound(`host ${hostId} is not registered`);
    res.json(state);
  });

  router.post('/:hostId/reports', ...jsonBodyUpTo(MAX_REPORT_BYTES), ...admitted, async (req, res) => {
    const hostId = await signedHost(req);
    if (!rateLimit.take(hostId)) throw problems.tooManyRequests(`host ${hostId} reports too often: at most one per proof interval`, 1);
    const report = parseOrThrow(HostReportRequest, req.body);
    // Checked before anything is written: logs for what is not this host's refuse the whole report.
    const logOwners = await checkReportLogs(db, hostId, report.logs ?? []);
    const answer = await acceptReport(db, hostId, report, reportPolicy, logger);
    metrics?.recordReport(answer);
    const logs = report.logs ? await storeReportLogs(db, logOwners, report.logs, logPolicy, logger) : undefined;
    res.json(logs ? { ...answer, logs } : answer);
  });

  return router;
}
