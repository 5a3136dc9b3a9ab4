/** App-wide behaviour: health, the OpenAPI document, unknown routes, problem responses. */
import type { Express } from 'express';
import request from 'supertest';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, expectProblem, noWorkflowCalls } from './fixtures';

let fresh: FreshDatabase;
let app: Express;

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
});

afterAll(() => fresh.drop());

/** Every route the app serves; the document must describe each one. */
const ROUTES: [string, string][] = [
  ['post', '/v1/leases'],
  ['get', '/v1/leases'],
  ['get', '/v1/leases/{id}'],
  ['get', '/v1/leases/{id}/settlements'],
  ['get', '/v1/leases/{id}/events'],
  ['get', '/v1/leases/{id}/logs'],
  ['post', '/v1/leases/{id}/extend'],
  ['post', '/v1/leases/{id}/cancel'],
  ['get', '/v1/offers'],
  ['post', '/v1/estimates'],
  ['get', '/v1/wallet'],
  ['post', '/v1/wallet'],
  ['get', '/v1/providers/{id}'],
  ['get', '/v1/hosts'],
  ['post', '/v1/hosts/register'],
  ['get', '/v1/hosts/{hostId}/desired'],
  ['post', '/v1/hosts/{hostId}/reports'],
  ['get', '/healthz'],
  ['get', '/openapi.json'],
  ['get', '/v1/operator/fleet'],
  ['get', '/v1/operator/hosts'],
  ['get', '/v1/operator/providers'],
  ['get', '/v1/operator/network-health'],
  ['get', '/v1/operator/leases'],
  ['get', '/'],
];

describe('GET /openapi.json', () => {
  test('is OpenAPI 3.1 and lists every route with its problem responses', async () => {
    const res = await request(app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => [method, path]),
    );
    expect(documented.sort()).toEqual([...ROUTES].sort());
    const createLease = res.body.paths['/v1/leases'].post;
    expect(createLease.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/LeaseRequest' });
    expect(createLease.responses['400'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    // A deposit the wallet cannot cover: the problem carries the amounts.
    expect(createLease.responses['402'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/InsufficientFundsProblem' });
    expect(res.body.paths['/v1/leases/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/LeaseDetail' });
    expect(res.body.components.schemas.LeaseDetail.allOf[1].properties.escrow.anyOf).toEqual([{ $ref: '#/components/schemas/Escrow' }, { type: 'null' }]);
    expect(res.body.components.schemas.LeaseRequest).toMatchObject({
      additionalProperties: false,
      // durationSeconds is optional: without it a lease runs until cancelled or until its allowance runs out.
      required: ['gpuModel', 'gpuCount', 'minTier', 'maxPricePerGpuHour', 'image'],
      properties: { gpuCount: { minimum: 1, maximum: 64 }, minTier: { minimum: 1, maximum: 3 } },
    });
  });

  test('documents routes the app really serves (none answers 404 "no route")', async () => {
    for (const [method, path] of ROUTES) {
      const concrete = path.replace('{id}', '00000000-0000-4000-8000-000000000000').replace('{hostId}', 'h');
      const res = await request(app)[method as 'get' | 'post'](concrete);
      expect({ route: `${method} ${path}`, detail: res.body.detail }).not.toEqual({ route: `${method} ${path}`, detail: expect.stringMatching(/no route/) });
    }
  });
});

describe('app-wide answers', () => {
  test('GET /healthz answers ok while the database answers', async () => {
    const res = await request(app).get('/healthz');
    expect([res.status, res.body]).toEqual([200, { status: 'ok' }]);
  });

  test('an unknown route is a problem, not an HTML page', async () => {
    expectProblem(await request(app).get('/v1/nothing'), 404, /no route for GET \/v1\/nothing/);
  });

  test('GET /healthz answers 503 when the database does not', async () => {
    const broken = await freshDatabase();
    const brokenApp = buildApp(broken.db, noWorkflowCalls);
    await broken.drop();
    expectProblem(await request(brokenApp).get('/healthz'), 503, /database does not answer/);
  });
});
