/**
 * Stand-in GPUs for machines without one (development, CI, the demo fleet). The name says so, and so
 * does every receipt: telemetry `source: 'simulated'`, which the verifier and the API can tell apart.
 */
import type { GpuTelemetry } from '../../domain/proof-receipt';
import type { HostGpu } from './host-gpu';

export interface SimulatedGpuSpec {
  model: string;
  vramGb: number;
  /** Decimal string, as declared on the command line. */
  pricePerGpuHour: string;
  count: number;
}

const PRICE = /^\d+(\.\d{1,6})?$/;
const ENTRY = /^([A-Za-z0-9_.]+):(\d+):([^x:]+)(?:x(\d+))?$/;

/**
 * Parses `--simulate-gpus`: comma-separated `model:vramGb:pricePerGpuHour[xcount]`,
 * e.g. `H100:80:2.50x2,A100:80:1.80x1`. Throws with a message saying which entry is wrong.
 */
export function parseSimulatedGpuSpec(spec: string): SimulatedGpuSpec[] {
  const entries = spec.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new Error('expected model:vramGb:pricePerGpuHour[xcount], e.g. H100:80:2.50x2');
  return entries.map((entry) => {
    const match = ENTRY.exec(entry);
    if (!match) throw new Error(`"${entry}" is not model:vramGb:pricePerGpuHour[xcount] (e.g. H100:80:2.50x2)`);
    const [, model, vram, price, count] = match as unknown as [string, string, string, string, string | undefined];
    if (!PRICE.test(price) || Number(price) <= 0) {
      throw new Error(`"${entry}": price "${price}" is not a decimal above 0 with at most 6 places`);
    }
    const vramGb = Number(vram);
    const gpuCount = count === undefined ? 1 : Number(count);
    if (vramGb < 1) throw new Error(`"${entry}": vramGb must be at least 1`);
    if (gpuCount < 1 || gpuCount > 64) throw new Error(`"${entry}": count must be between 1 and 64`);
    return { model, vramGb, pricePerGpuHour: price, count: gpuCount };
  });
}

/** Plausible, slowly varying readings: busy while a container runs on it, idle otherwise. */
export class SimulatedGpu implements HostGpu {
  readonly source = 'simulated' as const;
  readonly uuid = undefined;
  private readonly phase = Math.random() * Math.PI * 2;

  constructor(
    readonly id: string,
    readonly index: number,
    readonly model: string,
    readonly vramGb: number,
    readonly pricePerGpuHour: string,
  ) {}

  async readTelemetry(busy: boolean): Promise<GpuTelemetry> {
    const wave = Math.sin(Date.now() / 7_000 + this.phase);
    const jitter = () => Math.random() - 0.5;
    const utilizationPct = busy ? clamp(92 + 5 * wave + 2 * jitter(), 0, 100) : clamp(1 + jitter(), 0, 100);
    const memoryTotalMiB = this.vramGb * 1024;
    const memoryUsedMiB = busy ? Math.round(memoryTotalMiB * (0.6 + 0.1 * wave)) : 4;
    return {
      source: this.source,
      name: this.model,
      utilizationPct: Math.round(utilizationPct),
      memoryUsedMiB,
      memoryTotalMiB,
      temperatureC: Math.round((busy ? 68 : 34) + 4 * wave + jitter()),
      powerW: round1((busy ? 560 : 70) + 40 * wave + 5 * jitter()),
    };
  }
}

export function simulatedGpus(hostId: string, specs: SimulatedGpuSpec[]): SimulatedGpu[] {
  const gpus: SimulatedGpu[] = [];
  for (const spec of specs) {
    for (let i = 0; i < spec.count; i += 1) {
      const index = gpus.length;
      gpus.push(new SimulatedGpu(`${hostId}-gpu${index}`, index, spec.model, spec.vramGb, spec.pricePerGpuHour));
    }
  }
  return gpus;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const round1 = (value: number) => Math.round(value * 10) / 10;
