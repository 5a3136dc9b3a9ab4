import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Tier } from '../../domain/tier';
import type { SolanaBootstrap } from '../../infra/solana/bootstrap';
import type { DemoWallet } from './demo-wallets';

/**
 * data/demo.json: what a demo script or a person needs to use the running engine (URLs, the customers'
 * keys, the fleet) and the pids of its processes, so that a failover demo can kill a host agent.
 * Rewritten whenever a supervised process gets a new pid.
 */
export interface DemoFile {
  apiUrl: string;
  /** The web dashboard (served by the API at `/`). */
  dashboardUrl: string;
  /** Null when Temporal is external (TEMPORAL_ADDRESS): its UI is wherever that cluster serves it. */
  temporalUiUrl: string | null;
  heartbeatTimeoutSeconds: number;
  queueTimeoutSeconds: number;
  /** Runs `sh -c "while true; do sleep 1; done"` until stopped. */
  demoImage: string;
  customers: { id: string; name: string; apiKey: string }[];
  /** Signs in to the dashboard's operator view (and /v1/operator/*). */
  operator: { id: string; name: string; apiKey: string } | null;
  hosts: {
    hostId: string;
    providerId: string;
    tier: Tier;
    gpus: { model: string; count: number; vramGb: number; pricePerGpuHour: string }[];
    pid: number | null;
  }[];
  /** The chain the escrows live on. Null when SOLANA_RPC_URL names an external cluster (nothing set up here). */
  solana: DemoSolana | null;
  /** `chain` is the local chain node (null with an external cluster). */
  processes: { temporal: number | null; api: number | null; controlWorker: number | null; chain: number | null };
  /** Every supervised process by name (the cluster topology runs several of a kind: api-1, control-worker-2, postgresql, temporal-history…). */
  supervised?: Record<string, number | null>;
}

/**
 * Addresses base58; enough for a customer's own script to find its escrow and call `reclaim`: the chain's
 * public facts from the bootstrap (the keys stay out), and each demo customer's wallet.
 */
export type DemoSolana = Pick<
  SolanaBootstrap,
  'rpcUrl' | 'wsUrl' | 'programId' | 'config' | 'mint' | 'decimals' | 'treasury' | 'settlementAuthority' | 'reclaimGraceSeconds'
> & { customers: DemoWallet[] };

export function demoFilePath(dataDir: string): string {
  return path.join(dataDir, 'demo.json');
}

/** Synchronous on purpose: called from spawn callbacks, and two writes must never interleave. */
export function writeDemoFile(dataDir: string, demo: DemoFile): void {
  writeFileSync(demoFilePath(dataDir), `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
}
