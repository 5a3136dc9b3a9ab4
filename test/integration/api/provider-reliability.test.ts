/**
 * A provider's reliability as the API shows it (issue 9, item 6): GET /v1/providers/:id gives the score
 * with the evidence it rests on, and /v1/offers lists who has each group of GPUs in the order placement
 * takes them at that price. The record is made by the engine's own repositories.
 */
import type { Express } from 'express';
import request from 'supertest';
import { endAssignment } from '../../../infra/db/repositories/assignments.repo';
import { recordHostEvent } from '../../../infra/db/repositories/host-events.repo';
import { openTestAssignment, reservedGpu } from '../../support/assignments';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { seedLease } from '../../support/seed';
import { buildApp, expectProblem, newCustomer, newHost, newProvider, noWorkflowCalls, registerHost } from './fixtures';

let fresh: FreshDatabase;
let app: Express;
let steady: string;
let flaky: string;

/** An assignment of one of the provider's GPUs, ended for `reason`, with the host event the engine records for it. */
async function served(providerId: string, hostId: string, gpuId: string, reason: 'lease_completed' | 'host_lost'): Promise<void> {
  const leaseId = await seedLease(fresh.db, (await newCustomer(fresh.db)).id);
  const a = await openTestAssignment(fresh.db, leaseId, reservedGpu(gpuId, hostId, providerId));
  if (reason === 'host_lost') await recordHostEvent(fresh.db, { hostId, kind: 'lost', detail: 'no report for more than 10 s' });
  await endAssignment(fresh.db, { assignmentId: a.assignmentId, endReason: reason });
  await fresh.db.updateTable('gpus').set({ status: 'free', lease_id: null, reservation_id: null }).where('id', '=', gpuId).execute();
}

beforeAll(async () => {
  fresh = await freshDatabase();
  app = buildApp(fresh.db, noWorkflowCalls);
  const h100 = { model: 'H100', vramGb: 80, pricePerGpuHour: '2.5' };
  const [a, b] = [await newProvider(fresh.db, 1), await newProvider(fresh.db, 1)];
  [steady, flaky] = [a.id, b.id];
  const steadyHost = newHost();
  await registerHost(app, a.auth, steadyHost, [h100, h100]);
  const flakyHost = newHost();
  await registerHost(app, b.auth, flakyHost, [h100, h100]);
  for (let i = 0; i < 3; i++) await served(steady, steadyHost.hostId, `${steadyHost.hostId}-gpu0`, 'lease_completed');
  await served(flaky, flakyHost.hostId, `${flakyHost.hostId}-gpu0`, 'lease_completed');
  await served(flaky, flakyHost.hostId, `${flakyHost.hostId}-gpu0`, 'host_lost');
});

afterAll(() => fresh.drop());

test('GET /v1/providers/:id shows the score, its factors and the evidence it rests on', async () => {
  const res = await request(app).get(`/v1/providers/${flaky}`);
  expect(res.status).toBe(200);
  // staying = (3 + 1) / (3 + 1 + 1 + 1 failover + 1 lost mark) = 4/7.
  expect(res.body.reliability).toEqual({
    score: 0.5714,
    staying: 0.5714,
    coverage: 1,
    validity: 1,
    windowDays: 30,
    evidence: {
      leasesCompleted: 1,
      failoversCaused: 1,
      unhealthyMarks: 1,
      receiptsAccepted: 0,
      receiptsRejected: 0,
      watchedSeconds: 0,
      provenSeconds: 0,
    },
  });
  expect((await request(app).get(`/v1/providers/${steady}`)).body.reliability).toMatchObject({ score: 0.8571, evidence: { leasesCompleted: 3 } });
  expectProblem(await request(app).get('/v1/providers/nobody'), 404, /no provider nobody/);
});

test('/v1/offers lists who has each group, most reliable first: the order placement takes them in', async () => {
  const res = await request(app).get('/v1/offers').query({ gpuModel: 'H100' });
  expect(res.status).toBe(200);
  expect(res.body).toEqual([
    {
      gpuModel: 'H100', tier: 1, pricePerGpuHour: '2.5', vramGb: 80, available: 4,
      providers: [
        { providerId: steady, available: 2, reliability: 0.8571 },
        { providerId: flaky, available: 2, reliability: 0.5714 },
      ],
    },
  ]);
});
