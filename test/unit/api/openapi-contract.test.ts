/**
 * Where the OpenAPI document spells a rule by hand (zod-to-openapi cannot derive it), the document and
 * the validator must agree: schemathesis treats a value the document admits and the API refuses as a
 * failure, and the reverse as a hole. And a served path asked with another method answers 405.
 */
import express from 'express';
import request from 'supertest';
import pino from 'pino';
import { problemHandler } from '../../../api/errors';
import { methodNotAllowed } from '../../../api/method-not-allowed';
import { buildOpenApiDocument } from '../../../api/openapi';
import { TokenAmount } from '../../../api/schemas/common.schemas';
import { LeaseRequest } from '../../../api/schemas/leases.schemas';

const document = buildOpenApiDocument() as unknown as {
  components: { schemas: Record<string, { pattern?: string; properties?: Record<string, { propertyNames?: { pattern: string; maxLength: number } }> }> };
};

describe('TokenAmount: the documented pattern is exactly what the validator accepts', () => {
  const pattern = new RegExp(document.components.schemas.TokenAmount!.pattern!);
  test.each([
    '1', '1.25', '0.000001', '007.5', '999999999999.999999', '000000000000001', '0', '0.0', '', ' 1', '-1', '1e3', '1.',
    '.5', '1.0000001', '1000000000000', '1000000000000.000001', '99999999999999999999', '12.', 'abc', '1,5', '٣',
  ])('%j', (value) => {
    expect(pattern.test(value)).toBe(TokenAmount.safeParse(value).success);
  });
});

test('env names: the documented propertyNames are exactly what the validator accepts', () => {
  const names = document.components.schemas.LeaseRequest!.properties!.env!.propertyNames!;
  const pattern = new RegExp(names.pattern);
  const lease = { gpuModel: 'H100', gpuCount: 1, minTier: 1, maxPricePerGpuHour: '1', durationSeconds: 60, image: 'busybox' };
  for (const name of ['PATH', '_x', 'a1', 'LEASE_RANK', 'LEASE', '1A', 'A-B', '', 'É', 'x'.repeat(128), 'x'.repeat(129)]) {
    const documented = pattern.test(name) && name.length <= names.maxLength;
    expect([name, LeaseRequest.safeParse({ ...lease, env: { [name]: 'v' } }).success]).toEqual([name, documented]);
  }
});

describe('405 for a method a served path does not offer', () => {
  const app = express();
  app.get('/v1/offers', (_req, res) => {
    res.json([]);
  });
  app.use(methodNotAllowed(buildOpenApiDocument()));
  app.use((req) => {
    throw new Error(`unexpected fall-through for ${req.method} ${req.path}`);
  });
  app.use(problemHandler(pino({ level: 'silent' })));

  test('names the allowed methods in the problem and in Allow', async () => {
    const res = await request(app).delete('/v1/offers');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:lease-engine:problem:method-not-allowed', detail: 'DELETE is not allowed on /v1/offers; allowed: GET, HEAD' });
  });

  test('matches path templates, with or without a trailing slash', async () => {
    const res = await request(app).put('/v1/leases/some-lease/cancel/');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });
});
