import type { Tier } from '../../domain/tier';

/**
 * The demo fleet `npm start` runs on the local Docker engine, with simulated GPUs. Sized so that any
 * demo lease of up to 2 GPUs, of any model and tier, can fail over once to another provider of the same
 * or a better tier: both tier-1 providers hold 4 of every model. Prices per GPU-hour (in tokens) fall
 * from tier 1 to tier 3.
 */
export interface DemoGpus {
  model: string;
  vramGb: number;
  pricePerGpuHour: string;
  count: number;
}

export interface DemoHost {
  hostId: string;
  gpus: DemoGpus[];
}

export interface DemoProvider {
  /** Stable key in data/demo-state.json. */
  key: string;
  name: string;
  tier: Tier;
  hosts: DemoHost[];
}

const PRICES: Record<string, Record<Tier, string>> = {
  H100: { 1: '3.20', 2: '2.60', 3: '1.90' },
  A100: { 1: '2.40', 2: '1.90', 3: '1.40' },
  RTX4090: { 1: '0.90', 2: '0.70', 3: '0.45' },
};
const VRAM_GB: Record<string, number> = { H100: 80, A100: 80, RTX4090: 24 };

const gpus = (tier: Tier, counts: Record<string, number>): DemoGpus[] =>
  Object.entries(counts).map(([model, count]) => ({
    model,
    vramGb: VRAM_GB[model] ?? 24,
    pricePerGpuHour: PRICES[model]?.[tier] ?? '1.00',
    count,
  }));

export const DEMO_CUSTOMERS = [
  { key: 'acme', name: 'Acme Research' },
  { key: 'globex', name: 'Globex AI' },
] as const;

export const DEMO_PROVIDERS: DemoProvider[] = [
  { key: 'aurora', name: 'Aurora Compute', tier: 1, hosts: [{ hostId: 'aurora-1', gpus: gpus(1, { H100: 4, A100: 4, RTX4090: 4 }) }] },
  { key: 'borealis', name: 'Borealis Cloud', tier: 1, hosts: [{ hostId: 'borealis-1', gpus: gpus(1, { H100: 4, A100: 4, RTX4090: 4 }) }] },
  { key: 'cirrus', name: 'Cirrus Labs', tier: 2, hosts: [{ hostId: 'cirrus-1', gpus: gpus(2, { H100: 2, A100: 2, RTX4090: 2 }) }] },
  { key: 'dune', name: 'Dune Rigs', tier: 3, hosts: [{ hostId: 'dune-1', gpus: gpus(3, { A100: 2, RTX4090: 4 }) }] },
];

/** The host agent's `--simulate-gpus` value: model:vramGb:price x count, comma-separated. */
export function simulateGpusOption(host: DemoHost): string {
  return host.gpus.map((gpu) => `${gpu.model}:${gpu.vramGb}:${gpu.pricePerGpuHour}x${gpu.count}`).join(',');
}
