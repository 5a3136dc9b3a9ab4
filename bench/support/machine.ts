/** What a figure was measured on: numbers from a 2-core shared VM and a workstation are not comparable. */
import os from 'node:os';
import type Docker from 'dockerode';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  docker: { server: string; apiVersion: string; storageDriver: string; runtime: string };
  /** 1-minute load averages when the run began and ended: other work on the machine skews the figures. */
  loadAverage: { atStart: number; atEnd: number | null };
}

export async function machineInfo(docker: Docker): Promise<MachineInfo> {
  const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<{ Driver?: string; DefaultRuntime?: string }>]);
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    docker: {
      server: version.Version,
      apiVersion: version.ApiVersion,
      storageDriver: info.Driver ?? 'unknown',
      runtime: info.DefaultRuntime ?? 'unknown',
    },
    loadAverage: { atStart: round2(os.loadavg()[0]!), atEnd: null },
  };
}

export function finishMachineInfo(info: MachineInfo): MachineInfo {
  return { ...info, loadAverage: { ...info.loadAverage, atEnd: round2(os.loadavg()[0]!) } };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
