/**
 * Shared by the host-agent integration tests: the real API app served over HTTP on a fresh database
 * (stopped and started again on the same port for outages), the busybox image TOOLCHAIN.md describes,
 * and the containers a test host made.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import type { Express } from 'express';
import { LABELS } from '../../../workers/host-agent/docker-runtime';
import type { FreshDatabase } from '../../support/postgres';
import { freshDatabase } from '../../support/postgres';
import { buildApp, noWorkflowCalls } from '../api/fixtures';

export const TEST_IMAGE = process.env.DEMO_IMAGE ?? 'lease-engine/busybox:local';

export const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });

/** A host id no other test (or a demo agent on the same engine) uses. */
export function uniqueHostId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

export async function removeHostContainers(hostId: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

export async function containersOf(hostId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.host}=${hostId}`] } });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The real API (api/app.ts) on a fresh database, listening on a fixed port it can leave and come back to. */
export interface ServedApi {
  url: string;
  database: FreshDatabase;
  app: Express;
  /** Stops listening and cuts every open connection (long polls included): the API is away. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function serveApi(): Promise<ServedApi> {
  const database = await freshDatabase();
  const app = buildApp(database.db, noWorkflowCalls);
  let server: Server | null = null;
  let port = 0;
  const start = async () => {
    server = await new Promise<Server>((resolve, reject) => {
      // Express 5 hands a listen error (the port taken meanwhile) to the callback.
      const listening = app.listen(port, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
    });
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    const stopping = server;
    server = null;
    if (!stopping) return;
    const closed = new Promise<void>((resolve) => stopping.close(() => resolve()));
    stopping.closeAllConnections();
    await closed;
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    database,
    app,
    stop,
    start,
    close: async () => {
      await stop();
      await database.drop();
    },
  };
}
