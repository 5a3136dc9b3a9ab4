/**
 * The OpenAPI 3.1 document, generated from the very zod schemas that validate requests, so the
 * document and the behaviour cannot drift apart.
 */
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { Problem, ServerSentEvent } from './schemas/common.schemas';
import {
  DesiredStateQuery,
  DesiredStateResponse,
  HostIdParams,
  HostReportRequest,
  HostReportResponse,
  HostSignatureHeaders,
  HostView,
  RegisterHostRequest,
  RegisterHostResponse,
} from './schemas/hosts.schemas';
import {
  ExtendLeaseRequest,
  IdempotencyKeyHeader,
  LeaseDetailView,
  LeaseIdParams,
  LeaseRequest,
  LeaseView,
} from './schemas/leases.schemas';
import { EstimateView } from './schemas/estimates.schemas';
import { RegisterWalletRequest, WalletQuery, WalletView } from './schemas/wallet.schemas';
import { LastEventIdHeader, LeaseEventsQuery, LeaseEventView } from './schemas/events.schemas';
import { LeaseLogsPage, LeaseLogsQuery, LogLineView, LogsLastEventIdHeader } from './schemas/logs.schemas';
import { OffersQuery, OfferView } from './schemas/offers.schemas';
import {
  FleetGroupView,
  NetworkHealthQuery,
  NetworkHealthView,
  OperatorHostView,
  OperatorLeasesQuery,
  OperatorLeaseView,
  OperatorProviderView,
} from './schemas/operator.schemas';
import { InsufficientFundsProblem, ProviderIdParams, ProviderView, SettlementView } from './schemas/payments.schemas';
import { z } from './zod';

type Responses = RouteConfig['responses'];

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Malformed JSON, unknown field, wrong type or value out of range (the fields are named)',
  401: 'Missing or invalid credentials or signature',
  402: 'The customer’s wallet cannot cover the deposit (the shortfall is named); nothing was changed',
  404: 'No such resource (or not the caller’s)',
  409: 'Conflicts with the current state',
  413: 'Body over 64 kB',
  415: 'Body is not JSON',
  422: 'Valid request that cannot be carried out',
  429: 'Too many requests from this host; retry after the Retry-After seconds',
  500: 'Internal error',
  503: 'A component the request needs is unavailable, or the API is too busy (then with Retry-After seconds); nothing was changed',
};

function problemsFor(...statuses: number[]): Responses {
  const responses: Responses = {};
  for (const status of [...statuses, 500]) {
    responses[status] = {
      description: PROBLEM_TEXT[status] ?? 'Problem',
      content: { 'application/problem+json': { schema: status === 402 ? InsufficientFundsProblem : Problem } },
    };
  }
  return responses;
}

const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
const customer = [{ customerKey: [] }];
const operator = [{ operatorKey: [] }];

export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'customerKey', { type: 'http', scheme: 'bearer', description: 'Customer API key' });
  registry.registerComponent('securitySchemes', 'providerKey', { type: 'http', scheme: 'bearer', description: 'Provider API key' });
  registry.registerComponent('securitySchemes', 'operatorKey', {
    type: 'http', scheme: 'bearer', description: 'Operator API key (`lease-engine operators create <name>`)',
  });
  registry.registerComponent('securitySchemes', 'hostSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'x-host-signature',
    description:
      'Hex ed25519 signature by the host key of sha256(METHOD + "\\n" + path with query + "\\n" + x-host-timestamp + "\\n" + hex(sha256(raw body))), '
      + 'with x-host-id and x-host-timestamp (unix ms, within 60 s). docs/host-protocol.md has the whole protocol.',
  });
  registry.register('Problem', Problem);
  registry.register('InsufficientFundsProblem', InsufficientFundsProblem);
  registry.register('LogLine', LogLineView);

  const leaseWrite = problemsFor(400, 401, 404, 409, 413, 415, 422);
  registry.registerPath({
    method: 'post', path: '/v1/leases', summary: 'Create a lease and start its workflow', security: customer,
    request: { headers: IdempotencyKeyHeader, body: body(LeaseRequest) },
    responses: {
      201: json(LeaseDetailView, 'Lease created'),
      200: json(LeaseDetailView, 'Same Idempotency-Key and body as an earlier request: that lease'),
      ...problemsFor(400, 401, 402, 409, 413, 415, 422, 503),
    },
  });
  registry.registerPath({
    method: 'get', path: '/v1/leases', summary: 'The caller’s leases, newest first', security: customer,
    responses: { 200: json(z.array(LeaseView), 'Leases'), ...problemsFor(401) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/leases/{id}', summary: 'One lease with its assignments and its escrow', security: customer,
    request: { params: LeaseIdParams },
    responses: { 200: json(LeaseDetailView, 'The lease'), ...problemsFor(401, 404) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/leases/{id}/settlements', summary: 'The lease’s confirmed settlements, oldest first',
    security: customer,
    request: { params: LeaseIdParams },
    responses: { 200: json(z.array(SettlementView), 'Settlements with their payouts'), ...problemsFor(401, 404) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/leases/{id}/events',
    summary: 'What happened to the lease: status changes, ranks placed, running and ended, the escrow, settlements',
    description:
      'With `Accept: text/event-stream`: server-sent events (`id`, `event` = kind, `data` = the LeaseEvent), every stored event '
      + 'after Last-Event-ID, then live ones as they happen, a comment every 15 s, and a last `end` event once the lease reached '
      + 'its terminal status. Otherwise a JSON array of at most 1000 events: page on with `?after=<id of the last one>`.',
    security: customer,
    request: { params: LeaseIdParams, query: LeaseEventsQuery, headers: LastEventIdHeader },
    responses: {
      200: {
        description: 'The events, oldest first',
        content: {
          'application/json': { schema: z.array(LeaseEventView) },
          'text/event-stream': { schema: ServerSentEvent.openapi({ description: 'One server-sent event; `data` is a LeaseEvent as JSON' }) },
        },
      },
      ...problemsFor(400, 401, 404),
    },
  });
  registry.registerPath({
    method: 'get', path: '/v1/leases/{id}/logs',
    summary: 'The lease’s container stdout and stderr, in order across ranks and failovers',
    description:
      'Each line says its rank and epoch; `seq` orders the lease’s lines and is the cursor. JSON: at most 1000 lines after `since`, '
      + 'and `next` to pass as `since`. With `follow=true`: server-sent events, `log` (id = seq, data = a LogLine) for every line after '
      + '`since` or Last-Event-ID (which wins), live as hosts report them, a comment every 15 s, and `end` once the lease has ended and '
      + 'its last lines are in. Per rank the newest 10,000 lines / 2 MiB are kept, at most 256 KiB a minute is taken (the rest is '
      + 'dropped and marked "[lease-engine: N lines dropped]"), and a lease’s logs are deleted 7 days after it ended.',
    security: customer,
    request: { params: LeaseIdParams, query: LeaseLogsQuery, headers: LogsLastEventIdHeader },
    responses: {
      200: {
        description: 'The lines, oldest first',
        content: {
          'application/json': { schema: LeaseLogsPage },
          'text/event-stream': { schema: ServerSentEvent.openapi({ description: 'One server-sent event; each `log` event’s data is a LogLine as JSON' }) },
        },
      },
      ...problemsFor(400, 401, 404),
    },
  });
  registry.registerPath({
    method: 'get', path: '/v1/wallet',
    summary: 'The caller’s registered wallet and the allowance it approved for the escrow program, as the chain has it now',
    security: customer,
    request: { query: WalletQuery },
    responses: { 200: json(WalletView, 'The wallet'), ...problemsFor(400, 401, 503) },
  });
  registry.registerPath({
    method: 'post', path: '/v1/wallet',
    summary: 'Register the wallet that funds the caller’s leases, proven by its signature of the registration line',
    description: 'Leases opened from now on draw their deposits from this wallet’s allowance; open leases keep theirs.',
    security: customer,
    request: { body: body(RegisterWalletRequest) },
    responses: { 200: json(WalletView, 'Registered'), ...problemsFor(400, 401, 413, 415, 422, 503) },
  });
  registry.registerPath({
    method: 'post', path: '/v1/estimates',
    summary: 'What a lease request would get now: matching free GPUs and prices, the deposit, the cost per hour; creates nothing',
    security: customer,
    request: { body: body(LeaseRequest) },
    responses: { 200: json(EstimateView, 'The estimate'), ...problemsFor(400, 401, 413, 415, 422) },
  });
  registry.registerPath({
    method: 'post', path: '/v1/leases/{id}/extend', summary: 'Lengthen a lease with a fixed duration (its next settlements fund the new end)', security: customer,
    request: { params: LeaseIdParams, body: body(ExtendLeaseRequest) },
    responses: { 200: json(LeaseDetailView, 'Extended'), ...problemsFor(400, 401, 404, 409, 413, 415, 422, 503) },
  });
  registry.registerPath({
    method: 'post', path: '/v1/leases/{id}/cancel', summary: 'Cancel a lease: stop, settle, refund', security: customer,
    request: { params: LeaseIdParams },
    responses: { 200: json(LeaseDetailView, 'Cancelled'), 202: json(LeaseDetailView, 'Cancellation under way'), ...leaseWrite },
  });
  registry.registerPath({
    method: 'get', path: '/v1/offers', summary: 'Free GPUs on live hosts, grouped by model, tier and price',
    request: { query: OffersQuery },
    responses: { 200: json(z.array(OfferView), 'Offers'), ...problemsFor(400) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/providers/{id}', summary: 'A provider, its payout account and its earnings',
    request: { params: ProviderIdParams },
    responses: { 200: json(ProviderView, 'The provider'), ...problemsFor(404) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/hosts', summary: 'Registered hosts and their GPUs',
    responses: { 200: json(z.array(HostView), 'Hosts') },
  });
  registry.registerPath({
    method: 'post', path: '/v1/hosts/register', summary: 'Register (or re-register) a provider’s host',
    security: [{ providerKey: [], hostSignature: [] }],
    request: { headers: HostSignatureHeaders, body: body(RegisterHostRequest) },
    responses: { 200: json(RegisterHostResponse, 'Registered'), ...problemsFor(400, 401, 409, 413, 415) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/hosts/{hostId}/desired',
    summary: 'Long poll: what the host must run, answered within 100 ms of a change or after waitMs',
    description: 'Only the host’s own assignments. Signed like every host request (the path includes the query string).',
    security: [{ hostSignature: [] }],
    request: { params: HostIdParams, headers: HostSignatureHeaders, query: DesiredStateQuery },
    responses: { 200: json(DesiredStateResponse, 'The desired state and its version'), ...problemsFor(400, 401, 404) },
  });
  registry.registerPath({
    method: 'post', path: '/v1/hosts/{hostId}/reports',
    summary: 'One batch per proof interval: container states and proof receipts (verified on arrival), and container logs',
    description:
      'Keeps the host alive (silent past the heartbeat timeout: lost). Receipts continue the chain from the returned tips; '
      + 'a rejected receipt never moves a tip, and repeated rejections make the host unhealthy.',
    security: [{ hostSignature: [] }],
    request: { params: HostIdParams, headers: HostSignatureHeaders, body: body(HostReportRequest) },
    responses: { 200: json(HostReportResponse, 'What was accepted, rejected (with reasons) and where each chain continues'), ...problemsFor(400, 401, 404, 413, 415, 422, 429, 503) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/operator/fleet', summary: 'Operator: GPUs by tier and model, total, free now and leased', security: operator,
    responses: { 200: json(z.array(FleetGroupView), 'The fleet'), ...problemsFor(401) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/operator/hosts', summary: 'Operator: every host with its last report and its health', security: operator,
    responses: { 200: json(z.array(OperatorHostView), 'Hosts'), ...problemsFor(401) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/operator/providers', summary: 'Operator: every provider with its earnings', security: operator,
    responses: { 200: json(z.array(OperatorProviderView), 'Providers'), ...problemsFor(401) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/operator/network-health',
    summary: 'Operator: the network’s money over time: compute sold against what providers were paid, fees and burn',
    security: operator,
    request: { query: NetworkHealthQuery },
    responses: { 200: json(NetworkHealthView, 'Points, oldest first'), ...problemsFor(400, 401) },
  });
  registry.registerPath({
    method: 'get', path: '/v1/operator/leases', summary: 'Operator: every customer’s leases, newest first, linked to the Temporal UI',
    security: operator,
    request: { query: OperatorLeasesQuery },
    responses: { 200: json(z.array(OperatorLeaseView), 'Leases'), ...problemsFor(400, 401) },
  });
  registry.registerPath({
    method: 'get', path: '/', summary: 'The web dashboard (its files are under /dashboard/)',
    responses: { 200: { description: 'The dashboard page', content: { 'text/html': { schema: z.string() } } } },
  });
  registry.registerPath({
    method: 'get', path: '/healthz', summary: 'The API and its database answer',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Healthy'), ...problemsFor(503) },
  });
  registry.registerPath({
    method: 'get', path: '/openapi.json', summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: z.looseObject({}) } } } },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'lease-engine',
      version: '0.1.0',
      description: 'Rent GPU clusters assembled from independent providers. Errors are application/problem+json (RFC 9457).',
    },
  });
}
