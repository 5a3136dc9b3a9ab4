/** /v1/offers: public, so a customer can see what a lease could get before holding a key. */
import { Router } from 'express';
import type { Tier } from '../domain/tier';
import { listOffers } from '../infra/db/repositories/offers.repo';
import type { AppDeps } from './deps';
import { parseOrThrow } from './errors';
import { OffersQuery } from './schemas/offers.schemas';
import { toOfferView } from './views';

export function offersRouter({ db, timings, now }: Pick<AppDeps, 'db' | 'timings'> & { now: () => number }): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const query = parseOrThrow(OffersQuery, req.query, 'query');
    const offers = await listOffers(db, {
      ...(query.gpuModel !== undefined ? { gpuModel: query.gpuModel } : {}),
      ...(query.minTier !== undefined ? { minTier: query.minTier as Tier } : {}),
      heartbeatTimeoutSeconds: timings.heartbeatTimeoutSeconds,
      now: new Date(now()),
    });
    res.json(offers.map(toOfferView));
  });
  return router;
}
