/**
 * The API's host endpoints as the agent sees them (api/hosts.routes.ts has the real ones): checks the
 * provider key and the host signatures exactly as the real API does, records what it was told, and
 * answers heartbeats with a live-assignment list the test controls.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { HostHeartbeat, HostRegistration } from '../../../workers/host-agent/api-client';
import { HOST_SIGNATURE_HEADERS, isFreshTimestamp, verifyRequestSignature } from '../../../domain/signed-request';
import type { LiveAssignment } from '../../../workers/host-agent/reconcile';

export interface StandInApi {
  url: string;
  providerKey: string;
  registrations: HostRegistration[];
  heartbeats: HostHeartbeat[];
  /** Signature failures, which a test expects to stay empty. */
  refusals: string[];
  live: LiveAssignment[];
  close(): Promise<void>;
}

export async function startStandInApi(providerKey: string): Promise<StandInApi> {
  const keys = new Map<string, string>();
  const state: Omit<StandInApi, 'url' | 'close'> = { providerKey, registrations: [], heartbeats: [], refusals: [], live: [] };
  const app = express();
  app.use(express.json({ verify: (req, _res, buf) => ((req as unknown as { rawBody: Buffer }).rawBody = buf) }));

  const signed = (req: express.Request, publicKey: string | undefined): boolean => {
    const timestamp = req.get(HOST_SIGNATURE_HEADERS.timestamp) ?? '';
    const ok = publicKey !== undefined && isFreshTimestamp(timestamp, Date.now()) && verifyRequestSignature(
      { method: req.method, path: req.originalUrl, timestamp, body: (req as unknown as { rawBody: Buffer }).rawBody },
      req.get(HOST_SIGNATURE_HEADERS.signature) ?? '',
      publicKey,
    );
    if (!ok) state.refusals.push(`${req.method} ${req.originalUrl}`);
    return ok;
  };

  app.post('/v1/hosts/register', (req, res) => {
    const body = req.body as HostRegistration;
    if (req.get('authorization') !== `Bearer ${providerKey}`) return void res.status(401).json({ detail: 'bad provider key' });
    if (req.get(HOST_SIGNATURE_HEADERS.hostId) !== body.hostId || !signed(req, body.publicKey)) {
      return void res.status(401).json({ detail: 'bad signature' });
    }
    keys.set(body.hostId, body.publicKey);
    state.registrations.push(body);
    res.json({ hostId: body.hostId, providerId: 'prv-stand-in', tier: 2 });
  });

  app.post('/v1/hosts/:hostId/heartbeat', (req, res) => {
    const hostId = String(req.params.hostId);
    if (!keys.has(hostId)) return void res.status(404).json({ detail: `host ${hostId} is not registered` });
    if (!signed(req, keys.get(hostId))) return void res.status(401).json({ detail: 'bad signature' });
    state.heartbeats.push(req.body as HostHeartbeat);
    res.json({ liveAssignments: state.live });
  });

  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
