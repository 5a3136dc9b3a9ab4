/**
 * POST /v1/estimates: what a lease request would get if it were made now, creating nothing. The GPUs
 * are the offers (free GPUs on live hosts) that match it, taken cheapest first as a reservation takes
 * them; the deposit and the costs come from domain/money, the one home of money rules.
 */
import { Router } from 'express';
import { maxRatePerSecond } from '../domain/billing';
import { costOfSeconds, formatTokenAmount, parseTokenAmount } from '../domain/money';
import { openingDepositOf } from '../domain/rolling-deposit';
import type { Tier } from '../domain/tier';
import type { LeaseTimings } from '../workflows/messages';
import type { OfferRow } from '../infra/db/repositories/offers.repo';
import { listOffers } from '../infra/db/repositories/offers.repo';
import { requireCustomer } from './auth';
import { jsonBody } from './body';
import type { AppDeps } from './deps';
import { parseOrThrow } from './errors';
import { refuseUnknownGpuModel } from './leases.routes';
import type { EstimateView } from './schemas/estimates.schemas';
import type { LeaseRequest } from './schemas/leases.schemas';
import { LeaseRequest as LeaseRequestSchema } from './schemas/leases.schemas';

/** Pure: the estimate of `request` against the offers free now, with the rolling deposit of `timings`. */
export function estimate(request: LeaseRequest, offers: OfferRow[], timings: Pick<LeaseTimings, 'settlementPeriodSeconds' | 'depositWindowPeriods'>): EstimateView {
  const cap = parseTokenAmount(request.maxPricePerGpuHour);
  const matching = offers
    .filter((o) => o.gpuModel === request.gpuModel && o.tier <= request.minTier && BigInt(o.pricePerGpuHour) <= cap)
    .sort((a, b) => Number(BigInt(a.pricePerGpuHour) - BigInt(b.pricePerGpuHour)) || a.tier - b.tier);
  const available = matching.reduce((n, o) => n + o.available, 0);
  const prices: bigint[] = [];
  for (const offer of matching) {
    for (let i = 0; i < offer.available && prices.length < request.gpuCount; i++) prices.push(BigInt(offer.pricePerGpuHour));
  }
  const placeable = prices.length === request.gpuCount;
  return {
    gpuModel: request.gpuModel,
    gpuCount: request.gpuCount,
    minTier: request.minTier,
    maxPricePerGpuHour: formatTokenAmount(cap),
    durationSeconds: request.durationSeconds ?? null,
    deposit: formatTokenAmount(openingDepositOf({ maxRatePerSecond: maxRatePerSecond(cap, request.gpuCount),
      periodSeconds: timings.settlementPeriodSeconds, windowPeriods: timings.depositWindowPeriods, durationSeconds: request.durationSeconds ?? null }).deposit),
    available,
    offers: matching.map((o) => ({ tier: o.tier, pricePerGpuHour: formatTokenAmount(o.pricePerGpuHour), vramGb: o.vramGb, available: o.available })),
    placeableNow: placeable,
    pricesPerGpuHour: prices.map((p) => formatTokenAmount(p)),
    costPerHour: placeable ? formatTokenAmount(prices.reduce((sum, p) => sum + p, 0n)) : null,
    costForDuration: placeable && request.durationSeconds !== undefined
      ? formatTokenAmount(prices.reduce((sum, p) => sum + costOfSeconds(p, request.durationSeconds!), 0n))
      : null,
    shortage: placeable
      ? null
      : `${available} of ${request.gpuCount} ${request.gpuModel} GPUs free now at tier ${request.minTier} or better and at most ${formatTokenAmount(cap)} per GPU-hour`,
  };
}

export function estimatesRouter({ db, timings, now }: Pick<AppDeps, 'db' | 'timings'> & { now: () => number }): Router {
  const router = Router();
  router.use(requireCustomer(db));
  router.post('/', ...jsonBody, async (req, res) => {
    const request = parseOrThrow(LeaseRequestSchema, req.body);
    await refuseUnknownGpuModel(db, request.gpuModel);
    const offers = await listOffers(db, {
      gpuModel: request.gpuModel,
      minTier: request.minTier as Tier,
      heartbeatTimeoutSeconds: timings.heartbeatTimeoutSeconds,
      now: new Date(now()),
    });
    res.json(estimate(request, offers, timings));
  });
  return router;
}
