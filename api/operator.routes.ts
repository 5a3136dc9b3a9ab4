/**
 * /v1/operator: the whole network as an operator reads it (operator keys only, `lease-engine operators
 * create`). Read-only: the fleet by tier and model, hosts and their health, providers with their earnings,
 * the market's money over time, and every lease linked to its workflow in the Temporal UI.
 */
import { Router } from 'express';
import { formatTokenAmount } from '../domain/money';
import {
  fleetByTierAndModel,
  hostsOverview,
  leasesOverview,
  networkHealth,
  providersOverview,
} from '../infra/db/repositories/network-overview.repo';
import type { LeaseOverviewRow } from '../infra/db/repositories/network-overview.repo';
import { leaseWorkflowId } from '../workflows/messages';
import { requireOperator } from './auth';
import type { AppDeps, TemporalUi } from './deps';
import { parseOrThrow } from './errors';
import type { NetworkHealthView } from './schemas/operator.schemas';
import { NetworkHealthQuery, OperatorLeasesQuery } from './schemas/operator.schemas';

const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

/** The Temporal UI's page for one workflow (UI 2.x: /namespaces/<ns>/workflows/<id>). */
export function temporalWorkflowUrl(ui: TemporalUi | undefined, workflowId: string): string | null {
  if (!ui) return null;
  return `${ui.url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function toLeaseView(row: LeaseOverviewRow, ui: TemporalUi | undefined) {
  const workflowId = leaseWorkflowId(row.id);
  return {
    ...row,
    createdAt: row.createdAt.toISOString(),
    startedAt: isoOrNull(row.startedAt),
    endedAt: isoOrNull(row.endedAt),
    workflowId,
    temporalUrl: temporalWorkflowUrl(ui, workflowId),
  };
}

export function operatorRouter({ db, temporalUi }: Pick<AppDeps, 'db' | 'temporalUi'>): Router {
  const router = Router();
  router.use(requireOperator(db));

  router.get('/fleet', async (_req, res) => {
    res.json(await fleetByTierAndModel(db));
  });

  router.get('/hosts', async (_req, res) => {
    res.json((await hostsOverview(db)).map((host) => ({
      ...host, lastReportAt: isoOrNull(host.lastReportAt), unhealthyUntil: isoOrNull(host.unhealthyUntil),
    })));
  });

  router.get('/providers', async (_req, res) => {
    res.json((await providersOverview(db)).map(({ gross, net, fee, burn, seconds, settlements, ...provider }) => ({
      ...provider,
      earnings: { gross: formatTokenAmount(gross), net: formatTokenAmount(net), fee: formatTokenAmount(fee), burn: formatTokenAmount(burn),
        seconds, settlements },
    })));
  });

  router.get('/network-health', async (req, res) => {
    const { bucket, limit } = parseOrThrow(NetworkHealthQuery, req.query, 'query');
    const points = await networkHealth(db, bucket, limit);
    const view: NetworkHealthView = {
      bucket,
      points: points.map((p) => ({
        start: p.start.toISOString(),
        computeSold: formatTokenAmount(p.computeSold),
        paidToProviders: formatTokenAmount(p.paidToProviders),
        fees: formatTokenAmount(p.fees),
        burned: formatTokenAmount(p.burned),
        refunded: formatTokenAmount(p.refunded),
        settlements: p.settlements,
        gpuSeconds: p.gpuSeconds,
      })),
    };
    res.json(view);
  });

  router.get('/leases', async (req, res) => {
    const { status, limit } = parseOrThrow(OperatorLeasesQuery, req.query, 'query');
    res.json((await leasesOverview(db, { limit, ...(status ? { status } : {}) })).map((row) => toLeaseView(row, temporalUi)));
  });

  return router;
}
