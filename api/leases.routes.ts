/**
 * /v1/leases: a customer's leases. Creation writes the lease row and starts its workflow, or neither;
 * reads come from PostgreSQL (the workflow's activities keep it current); extend and cancel go to the
 * workflow as updates, so the answer says whether the workflow accepted them. Creating or extending first
 * checks that the customer's wallet covers the deposit (402 otherwise), so nothing is half-created.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { canonicalJson } from '../domain/canonical-json';
import type { LeaseStatus } from '../domain/lease';
import { isTerminal, LEASE_STATUSES } from '../domain/lease';
import { maxRatePerSecond } from '../domain/billing';
import { parseTokenAmount } from '../domain/money';
import { openingDepositOf } from '../domain/rolling-deposit';
import type { Tier } from '../domain/tier';
import {
  deleteUnstartedLease,
  findLease,
  findLeaseByIdempotencyKey,
  findLeaseWithAssignments,
  insertLease,
  listLeases,
  recordExtension,
} from '../infra/db/repositories/leases.repo';
import { escrowBooks, findEscrow, listSettlements } from '../infra/db/repositories/escrow-ledger.repo';
import { isKnownGpuModel, knownGpuModels } from '../infra/db/repositories/offers.repo';
import type { Database, Lease } from '../infra/db/schema';
import type { LeaseWorkflowInput } from '../workflows/messages';
import { currentCustomer, requireCustomer } from './auth';
import { jsonBody } from './body';
import type { ContainerLogsWatch } from './container-logs-watch';
import { sendContainerLogs } from './container-logs.routes';
import type { AppDeps } from './deps';
import { parseOrThrow, problems } from './errors';
import type { LeaseEventsWatch } from './lease-events-watch';
import { sendLeaseEvents } from './lease-events.routes';
import { depositCheck } from './payments';
import { toEscrowView, toSettlementView } from './payment-views';
import type { LeaseDetailView } from './schemas/leases.schemas';
import { ExtendLeaseRequest, IdempotencyKeyHeader, LeaseRequest } from './schemas/leases.schemas';
import { z } from './zod';
import { toLeaseView } from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CancelLeaseRequest = z.strictObject({});

/** Equal for equal requests whatever their key order or spacing: tells a retry from a new request. */
function requestHash(request: LeaseRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export function leasesRouter(deps: AppDeps & { logger: Logger; watch: LeaseEventsWatch; logsWatch: ContainerLogsWatch }): Router {
  const { db, orchestrator, timings, logger } = deps;
  const coverDeposit = depositCheck(db, deps.payments, logger);
  const router = Router();
  router.use(requireCustomer(db));

  async function leaseOr404(req: Request, res: Response): Promise<Lease> {
    const id = String(req.params.id);
    const lease = UUID.test(id) ? await findLease(db, currentCustomer(res).id, id) : undefined;
    if (!lease) throw problems.notFound(`no lease ${id}`);
    return lease;
  }

  async function view(customerId: string, leaseId: string): Promise<LeaseDetailView> {
    const lease = await findLeaseWithAssignments(db, customerId, leaseId);
    if (!lease) throw problems.notFound(`no lease ${leaseId}`);
    const [escrow, books] = await Promise.all([findEscrow(db, leaseId), escrowBooks(db, leaseId)]);
    return { ...toLeaseView(lease), escrow: toEscrowView(escrow, books) };
  }

  /** An earlier request with the same Idempotency-Key: the same body gets the same lease, another body a 409. */
  async function replay(res: Response, existing: Lease, hash: string, key: string): Promise<void> {
    if (existing.request_hash !== hash) {
      throw problems.conflict(`Idempotency-Key "${key}" was already used for a different request (lease ${existing.id})`);
    }
    res.status(200).json(await view(existing.customer_id, existing.id));
  }

  router.post('/', ...jsonBody, async (req, res) => {
    const customer = currentCustomer(res);
    const { 'idempotency-key': idempotencyKey } = parseOrThrow(IdempotencyKeyHeader, req.headers, 'headers');
    const request = parseOrThrow(LeaseRequest, req.body);
    const hash = requestHash(request);
    if (idempotencyKey !== undefined) {
      const existing = await findLeaseByIdempotencyKey(db, customer.id, idempotencyKey);
      if (existing) return replay(res, existing, hash, idempotencyKey);
    }
    await refuseUnknownGpuModel(db, request.gpuModel);
    const maxPrice = parseTokenAmount(request.maxPricePerGpuHour);
    const opening = openingDepositOf({ maxRatePerSecond: maxRatePerSecond(maxPrice, request.gpuCount),
      periodSeconds: timings.settlementPeriodSeconds, windowPeriods: timings.depositWindowPeriods,
      durationSeconds: request.durationSeconds ?? null });
    await coverDeposit(customer.id, opening.deposit, { what: ` (the first ${opening.seconds} s at the price cap)`, consequence: 'nothing was created' });
    const leaseId = randomUUID();
    const outcome = await insertLease(db, {
      id: leaseId,
      customer_id: customer.id,
      status: 'reserving',
      gpu_model: request.gpuModel,
      gpu_count: request.gpuCount,
      min_tier: request.minTier,
      max_price_per_gpu_hour: maxPrice,
      duration_seconds: request.durationSeconds ?? null,
      image: request.image,
      command: request.command ? JSON.stringify(request.command) : null,
      env: request.env ? JSON.stringify(request.env) : null,
      idempotency_key: idempotencyKey ?? null,
      request_hash: hash,
    });
    // A concurrent request with the same key won the insert.
    if (!outcome.inserted) return replay(res, outcome.existing, hash, idempotencyKey ?? '');

    const input: LeaseWorkflowInput = {
      leaseId,
      customerId: customer.id,
      spec: {
        gpuModel: request.gpuModel,
        gpuCount: request.gpuCount,
        minTier: request.minTier as Tier,
        maxPricePerGpuHour: maxPrice.toString(),
        durationSeconds: request.durationSeconds ?? null,
        image: request.image,
        ...(request.command ? { command: request.command } : {}),
        ...(request.env ? { env: request.env } : {}),
      },
      timings,
    };
    try {
      await orchestrator.start(input);
    } catch (err) {
      logger.error({ err, leaseId }, 'lease workflow did not start; removing the lease');
      await deleteUnstartedLease(db, leaseId).catch((deleteErr: unknown) =>
        logger.error({ err: deleteErr, leaseId }, 'could not remove the lease whose workflow did not start'),
      );
      throw problems.unavailable('the lease orchestrator is unavailable; nothing was created, retry later');
    }
    res.status(201).location(`/v1/leases/${leaseId}`).json(await view(customer.id, leaseId));
  });

  router.get('/', async (_req, res) => {
    const leases = await listLeases(db, currentCustomer(res).id);
    res.json(leases.map(toLeaseView));
  });

  router.get('/:id', async (req, res) => {
    const lease = await leaseOr404(req, res);
    res.json(await view(lease.customer_id, lease.id));
  });

  router.get('/:id/settlements', async (req, res) => {
    const lease = await leaseOr404(req, res);
    res.json((await listSettlements(db, lease.id)).map(toSettlementView));
  });

  router.get('/:id/events', async (req, res) => {
    const lease = await leaseOr404(req, res);
    await sendLeaseEvents(req, res, lease.id, { db, watch: deps.watch, logger, heartbeatMs: deps.events?.heartbeatMs });
  });

  router.get('/:id/logs', async (req, res) => {
    const lease = await leaseOr404(req, res);
    await sendContainerLogs(req, res, lease.id, { db, watch: deps.logsWatch, logger, heartbeatMs: deps.events?.heartbeatMs, policy: deps.logPolicy });
  });

  router.post('/:id/extend', ...jsonBody, async (req, res) => {
    const lease = await leaseOr404(req, res);
    const { seconds } = parseOrThrow(ExtendLeaseRequest, req.body);
    refuseIfFinished(lease, 'extended');
    if (lease.duration_seconds === null) {
      throw problems.conflict(`lease ${lease.id} has no fixed duration: it runs until cancelled or until its allowance runs out`);
    }
    // No deposit now: the rolling deposit funds the new end from the allowance, period by period.
    const result = await orchestrator.extend(lease.id, seconds);
    await recordExtension(db, lease.id, result.durationSeconds ?? lease.duration_seconds, result.endsAt === null ? null : new Date(result.endsAt));
    res.json(await view(lease.customer_id, lease.id));
  });

  router.post('/:id/cancel', ...jsonBody, async (req, res) => {
    const lease = await leaseOr404(req, res);
    if (req.body !== undefined) parseOrThrow(CancelLeaseRequest, req.body);
    refuseIfFinished(lease, 'cancelled');
    const { status } = await orchestrator.cancel(lease.id);
    // The workflow's answer is newer than the read model, which its activities update shortly.
    const current = { ...(await view(lease.customer_id, lease.id)), status };
    res.status(isTerminal(status) ? 200 : 202).json(current);
  });

  return router;
}

/** 422 for a model no registered GPU has: such a lease could never run. */
export async function refuseUnknownGpuModel(db: Kysely<Database>, gpuModel: string): Promise<void> {
  if (await isKnownGpuModel(db, gpuModel)) return;
  const known = await knownGpuModels(db);
  throw problems.unprocessable(
    `no registered GPU is a "${gpuModel}" (known models: ${known.length ? known.join(', ') : 'none'})`,
    [{ field: 'gpuModel', message: `unknown GPU model "${gpuModel}"` }],
  );
}

function refuseIfFinished(lease: Lease, verb: string): void {
  const status = lease.status as LeaseStatus;
  if (LEASE_STATUSES.includes(status) && isTerminal(status)) {
    throw problems.conflict(`lease ${lease.id} is ${status}; a finished lease cannot be ${verb}`);
  }
}
