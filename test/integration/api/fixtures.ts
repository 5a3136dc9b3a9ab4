/**
 * Shared set-up for the API contract tests: the real app on a fresh PostgreSQL database, real API keys,
 * and hosts with real ed25519 keys that sign their requests as the host agent does.
 */
import type { Express } from 'express';
import type { Kysely } from 'kysely';
import request from 'supertest';
import type { AppDeps } from '../../../api/app';
import { createApp, leaseTimingsFromConfig } from '../../../api/app';
import type { LeaseOrchestrator } from '../../../api/lease-orchestrator';
import { generateHostKey } from '../../../domain/host-key';
import type { HostKey } from '../../../domain/host-key';
import { HOST_SIGNATURE_HEADERS, signRequest } from '../../../domain/signed-request';
import type { Tier } from '../../../domain/tier';
import { loadConfig } from '../../../infra/config';
import { createCustomer } from '../../../infra/db/repositories/customers.repo';
import { createProvider } from '../../../infra/db/repositories/providers.repo';
import type { Database } from '../../../infra/db/schema';

export const timings = leaseTimingsFromConfig(loadConfig({}));

/** For tests of routes that never reach the workflow: any call is a test failure. */
export const noWorkflowCalls: LeaseOrchestrator = {
  start: () => Promise.reject(new Error('this test must not start a workflow')),
  extend: () => Promise.reject(new Error('this test must not extend a workflow')),
  cancel: () => Promise.reject(new Error('this test must not cancel a workflow')),
};

export function buildApp(db: Kysely<Database>, orchestrator: LeaseOrchestrator, extra: Partial<AppDeps> = {}): Express {
  return createApp({ db, orchestrator, timings, ...extra });
}

let counter = 0;
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

export async function newCustomer(db: Kysely<Database>): Promise<{ id: string; apiKey: string; auth: string }> {
  const customer = await createCustomer(db, unique('customer'));
  return { ...customer, auth: `Bearer ${customer.apiKey}` };
}

export async function newProvider(db: Kysely<Database>, tier: Tier) {
  const provider = await createProvider(db, unique('provider'), tier);
  return { ...provider, auth: `Bearer ${provider.apiKey}` };
}

export interface TestHost {
  hostId: string;
  key: HostKey;
}

export function newHost(): TestHost {
  return { hostId: unique('host'), key: generateHostKey() };
}

/** POSTs `body` exactly as serialised here, signed by `signer` the way workers/host-agent signs. */
export function signedPost(
  app: Express,
  path: string,
  body: unknown,
  signer: TestHost,
  opts: { headers?: Record<string, string>; timestamp?: number; hostIdHeader?: string } = {},
) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = String(opts.timestamp ?? Date.now());
  const signature = signRequest({ method: 'POST', path, timestamp, body: raw }, signer.key.secretKey);
  return request(app)
    .post(path)
    .set({
      ...opts.headers,
      'content-type': 'application/json',
      [HOST_SIGNATURE_HEADERS.hostId]: opts.hostIdHeader ?? signer.hostId,
      [HOST_SIGNATURE_HEADERS.timestamp]: timestamp,
      [HOST_SIGNATURE_HEADERS.signature]: signature,
    })
    .send(raw);
}

export interface GpuSpec {
  id?: string;
  model: string;
  vramGb?: number;
  pricePerGpuHour: string;
}

export function registration(host: TestHost, gpus: GpuSpec[]) {
  return {
    hostId: host.hostId,
    publicKey: host.key.publicKey,
    gpuSource: 'simulated' as const,
    gpus: gpus.map((gpu, index) => ({
      id: gpu.id ?? `${host.hostId}-gpu${index}`,
      model: gpu.model,
      vramGb: gpu.vramGb ?? 80,
      pricePerGpuHour: gpu.pricePerGpuHour,
    })),
  };
}

/** Registers a host through the API and fails the test unless it is accepted. */
export async function registerHost(app: Express, providerAuth: string, host: TestHost, gpus: GpuSpec[]): Promise<void> {
  const res = await signedPost(app, '/v1/hosts/register', registration(host, gpus), host, {
    headers: { authorization: providerAuth },
  });
  if (res.status !== 200) throw new Error(`registration refused: ${res.status} ${JSON.stringify(res.body)}`);
}

export function expectProblem(res: request.Response, status: number, detail: RegExp): void {
  expect({ status: res.status, type: res.headers['content-type'], detail: res.body.detail }).toEqual({
    status,
    type: expect.stringContaining('application/problem+json'),
    detail: expect.stringMatching(detail),
  });
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
}
