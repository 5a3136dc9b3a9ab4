/**
 * The express app, built from its dependencies and never listening: server.ts listens, tests drive
 * it in-process. Order matters: request log, routes (each authenticates before it parses a body),
 * then one 404 and one problem handler for every failure.
 */
import express from 'express';
import type { Express, RequestHandler } from 'express';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import pino from 'pino';
import { DEFAULT_HOST_REPORTS_IN_FLIGHT } from '../infra/config';
import { dashboardRouter } from './dashboard.routes';
import { ContainerLogsWatch } from './container-logs-watch';
import type { AppDeps } from './deps';
import { DesiredStateWatch } from './desired-state-watch';
import { notFoundHandler, problemHandler, problems } from './errors';
import { estimatesRouter } from './estimates.routes';
import { walletRouter } from './wallet.routes';
import { hostsRouter } from './hosts.routes';
import { LeaseEventsWatch } from './lease-events-watch';
import { leasesRouter } from './leases.routes';
import { methodNotAllowed } from './method-not-allowed';
import { createApiMetrics } from './metrics';
import { offersRouter } from './offers.routes';
import { operatorRouter } from './operator.routes';
import { providersRouter } from './providers.routes';
import { ReportAdmission } from './report-admission';
import { buildOpenApiDocument } from './openapi';

export type { AppDeps } from './deps';
export { leaseTimingsFromConfig } from './deps';

function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Every host reports and polls every few seconds: a successful one is routine, not news, and so is
      // one told to come back later (429, or 503 for load): those are counted and summed up elsewhere.
      const routine = (res.statusCode < 400 || res.hasHeader('retry-after')) && /^\/v1\/hosts\/[^/?]+\/(desired|reports)(\?|$)/.test(req.originalUrl);
      const level = routine ? 'debug' : res.statusCode >= 500 ? 'error' : 'info';
      logger[level]({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

export function createApp(deps: AppDeps): Express {
  const logger = deps.logger ?? pino({ level: 'silent' });
  const now = deps.now ?? Date.now;
  const { db } = deps;
  const openApiDocument = buildOpenApiDocument();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(logger));
  const reportAdmission = new ReportAdmission(deps.hostReportsInFlight ?? DEFAULT_HOST_REPORTS_IN_FLIGHT);
  const metrics = deps.metrics ?? createApiMetrics(db, { reportAdmission });
  app.use(metrics.httpMiddleware);

  app.get('/healthz', async (_req, res) => {
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      logger.warn({ err }, 'health check: database does not answer');
      throw problems.unavailable('the database does not answer');
    }
    res.json({ status: 'ok' });
  });
  // Prometheus text: aggregates only (no customer's or host's identity); read from PostgreSQL at each scrape.
  app.get('/metrics', async (_req, res) => {
    let text: string;
    try {
      text = await metrics.registry.metrics();
    } catch (err) {
      logger.warn({ err }, 'metrics: could not be collected');
      throw problems.unavailable('metrics could not be collected: the database does not answer');
    }
    res.type(metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });

  // Event streams end when the app does: server.ts closes this watch before it closes the server.
  const eventsWatch = new LeaseEventsWatch(db, deps.events?.tickMs ?? 250, logger);
  app.locals.leaseEventsWatch = eventsWatch;
  const logsWatch = new ContainerLogsWatch(db, deps.events?.tickMs ?? 250, logger);
  app.locals.containerLogsWatch = logsWatch;
  app.use('/v1/leases', leasesRouter({ ...deps, logger, watch: eventsWatch, logsWatch }));
  app.use('/v1/offers', offersRouter({ ...deps, now }));
  app.use('/v1/estimates', estimatesRouter({ ...deps, now }));
  app.use('/v1/wallet', walletRouter({ ...deps, logger }));
  // Long polls end when the app does: server.ts closes the watch before it closes the server.
  const watch = new DesiredStateWatch(db, 50, logger);
  app.locals.desiredStateWatch = watch;
  app.use('/v1/hosts', hostsRouter({ ...deps, now, watch, logger, metrics, reportAdmission }));
  app.use('/v1/providers', providersRouter(deps));
  app.use('/v1/operator', operatorRouter(deps));
  // The web dashboard: `/` and its static files under /dashboard/, all talking to the routes above.
  app.use(dashboardRouter());

  // A served path asked with a method it does not offer: 405 with Allow, not the catch-all's 404.
  app.use(methodNotAllowed(openApiDocument));
  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
