import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Tier } from '../../domain/tier';

/**
 * data/demo.json: what a demo script or a person needs to use the running engine (URLs, the customers'
 * keys, the fleet) and the pids of its processes, so that a failover demo can kill a host agent.
 * Rewritten whenever a supervised process gets a new pid.
 */
export interface DemoFile {
  apiUrl: string;
  /** Null when Temporal is external (TEMPORAL_ADDRESS): its UI is wherever that cluster serves it. */
  temporalUiUrl: string | null;
  heartbeatTimeoutSeconds: number;
  queueTimeoutSeconds: number;
  /** Runs `sh -c "while true; do sleep 1; done"` until stopped. */
  demoImage: string;
  customers: { id: string; name: string; apiKey: string }[];
  hosts: {
    hostId: string;
    providerId: string;
    tier: Tier;
    gpus: { model: string; count: number; vramGb: number; pricePerGpuHour: string }[];
    pid: number | null;
  }[];
  processes: { temporal: number | null; api: number | null; controlWorker: number | null };
}

export function demoFilePath(dataDir: string): string {
  return path.join(dataDir, 'demo.json');
}

/** Synchronous on purpose: called from spawn callbacks, and two writes must never interleave. */
export function writeDemoFile(dataDir: string, demo: DemoFile): void {
  writeFileSync(demoFilePath(dataDir), `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
}
