/** /v1/providers/:id: public, so anyone can see who a provider is, where it is paid, what it earned and how reliably it served. */
import { Router } from 'express';
import { findPayee } from '../infra/db/repositories/escrow-ledger.repo';
import { reliabilityOfProviders } from '../infra/db/repositories/reliability.repo';
import type { AppDeps } from './deps';
import { problems } from './errors';
import { toProviderView } from './payment-views';
import { ProviderIdParams } from './schemas/payments.schemas';

export function providersRouter({ db }: Pick<AppDeps, 'db'>): Router {
  const router = Router();
  router.get('/:id', async (req, res) => {
    const id = String(req.params.id);
    const payee = ProviderIdParams.safeParse({ id }).success ? await findPayee(db, id) : undefined;
    if (!payee) throw problems.notFound(`no provider ${id}`);
    const reliability = (await reliabilityOfProviders(db, [id])).get(id)!;
    res.json(toProviderView(payee, reliability));
  });
  return router;
}
