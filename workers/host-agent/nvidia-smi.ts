/**
 * Reading physical NVIDIA GPUs through `nvidia-smi`. Parsing is a pure function so that it is
 * tested on sample output; only `queryNvidiaSmi` touches the machine.
 */
import { execFile } from 'node:child_process';

export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
] as const;

export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

export interface NvidiaSmiGpu {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  utilizationPct: number;
  temperatureC: number;
  powerW: number;
}

/**
 * Parses `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`. Readings the driver does not
 * support (`[N/A]`, `[Not Supported]`) become 0 rather than dropping the GPU; a line without a
 * usable index, uuid or name is skipped.
 */
export function parseNvidiaSmiCsv(output: string): NvidiaSmiGpu[] {
  const gpus: NvidiaSmiGpu[] = [];
  for (const line of output.split(/\r?\n/)) {
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length < NVIDIA_SMI_FIELDS.length) continue;
    const [index, uuid, name, memTotal, memUsed, util, temp, power] = cells as [
      string, string, string, string, string, string, string, string,
    ];
    if (!/^\d+$/.test(index) || uuid === '' || name === '') continue;
    gpus.push({
      index: Number(index),
      uuid,
      name,
      memoryTotalMiB: reading(memTotal),
      memoryUsedMiB: reading(memUsed),
      utilizationPct: reading(util),
      temperatureC: reading(temp),
      powerW: reading(power),
    });
  }
  return gpus;
}

function reading(cell: string): number {
  const value = Number(cell);
  return cell !== '' && Number.isFinite(value) ? value : 0;
}

const VENDOR_WORDS = new Set(['NVIDIA', 'TESLA', 'GEFORCE', 'QUADRO']);
const FAMILY_PREFIXES = new Set(['RTX', 'GTX', 'TITAN']);

/**
 * The marketable model of a GPU from its driver name, as customers ask for it:
 * "NVIDIA H100 80GB HBM3" → "H100", "NVIDIA A100-SXM4-80GB" → "A100",
 * "NVIDIA GeForce RTX 4090" → "RTX4090", "Tesla V100-SXM2-16GB" → "V100".
 */
export function gpuModelFromName(name: string): string {
  const words = name
    .split(/[\s-]+/)
    .filter((word) => word !== '' && !VENDOR_WORDS.has(word.toUpperCase()));
  const [first, second] = words;
  if (first === undefined) return name.trim();
  if (FAMILY_PREFIXES.has(first.toUpperCase()) && second !== undefined) return `${first}${second}`.toUpperCase();
  return first.toUpperCase();
}

/** Whole GB as providers advertise them: 81559 MiB → 80. */
export function vramGbFromMiB(mib: number): number {
  return Math.round(mib / 1024);
}

/** Resolves to the GPUs the driver lists, or [] when there is no `nvidia-smi` or it fails. */
export function queryNvidiaSmi(executable = 'nvidia-smi', timeoutMs = 10_000): Promise<NvidiaSmiGpu[]> {
  return new Promise((resolve) => {
    execFile(executable, NVIDIA_SMI_ARGS, { timeout: timeoutMs }, (error, stdout) => {
      resolve(error ? [] : parseNvidiaSmiCsv(stdout));
    });
  });
}
