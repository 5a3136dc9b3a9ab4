/**
 * The GPUs a host declares and rents out: physical ones read through `nvidia-smi`, or simulated ones
 * when the machine has none. GPU ids are `${hostId}-gpu${index}`.
 */
import type { GpuTelemetry } from '../../domain/proof-receipt';
import type { NvidiaSmiGpu } from './nvidia-smi';
import { gpuModelFromName, queryNvidiaSmi, vramGbFromMiB } from './nvidia-smi';

export interface HostGpu {
  id: string;
  index: number;
  model: string;
  vramGb: number;
  pricePerGpuHour: string;
  source: GpuTelemetry['source'];
  /** Driver uuid of a physical GPU: what Docker's device request names. */
  uuid: string | undefined;
  readTelemetry(busy: boolean): Promise<GpuTelemetry>;
}

/**
 * All physical GPUs share one `nvidia-smi` call per `maxAgeMs`: every assignment signs a receipt
 * each proof interval, and one process per receipt per GPU would be wasteful on a big host.
 */
export class NvidiaSmiSampler {
  private last: { at: number; gpus: NvidiaSmiGpu[] } | undefined;
  private inFlight: Promise<NvidiaSmiGpu[]> | undefined;

  constructor(
    private readonly executable = 'nvidia-smi',
    private readonly maxAgeMs = 500,
  ) {}

  async sample(): Promise<NvidiaSmiGpu[]> {
    if (this.last && Date.now() - this.last.at < this.maxAgeMs) return this.last.gpus;
    this.inFlight ??= queryNvidiaSmi(this.executable).finally(() => (this.inFlight = undefined));
    const gpus = await this.inFlight;
    // A failed read keeps the previous sample: a receipt is still owed, and stale-by-seconds beats empty.
    if (gpus.length > 0 || !this.last) this.last = { at: Date.now(), gpus };
    return this.last.gpus;
  }
}

export class NvidiaGpu implements HostGpu {
  readonly source = 'nvidia-smi' as const;
  readonly model: string;
  readonly vramGb: number;
  readonly index: number;
  readonly uuid: string;

  constructor(
    readonly id: string,
    private readonly reading: NvidiaSmiGpu,
    readonly pricePerGpuHour: string,
    private readonly sampler: NvidiaSmiSampler,
  ) {
    this.index = reading.index;
    this.uuid = reading.uuid;
    this.model = gpuModelFromName(reading.name);
    this.vramGb = vramGbFromMiB(reading.memoryTotalMiB);
  }

  async readTelemetry(): Promise<GpuTelemetry> {
    const gpus = await this.sampler.sample();
    const now = gpus.find((gpu) => gpu.uuid === this.uuid) ?? this.reading;
    return {
      source: this.source,
      name: now.name,
      utilizationPct: now.utilizationPct,
      memoryUsedMiB: now.memoryUsedMiB,
      memoryTotalMiB: now.memoryTotalMiB,
      temperatureC: now.temperatureC,
      powerW: now.powerW,
    };
  }
}

/** The physical GPUs of this machine, or [] when it has no NVIDIA driver. */
export async function discoverNvidiaGpus(
  hostId: string,
  pricePerGpuHour: string,
  sampler = new NvidiaSmiSampler(),
): Promise<NvidiaGpu[]> {
  const readings = await sampler.sample();
  return readings.map((reading) => new NvidiaGpu(`${hostId}-gpu${reading.index}`, reading, pricePerGpuHour, sampler));
}
