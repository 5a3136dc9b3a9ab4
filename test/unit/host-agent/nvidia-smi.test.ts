import { gpuModelFromName, parseNvidiaSmiCsv, vramGbFromMiB } from '../../../workers/host-agent/nvidia-smi';

// Output of `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw
// --format=csv,noheader,nounits` on a mixed machine, including readings the driver does not support.
const SAMPLE = [
  '0, GPU-5b2b9a4c-8c3e-4f6e-9b1a-0d2f6e7c8a91, NVIDIA H100 80GB HBM3, 81559, 1024, 97, 64, 612.45',
  '1, GPU-0a1b2c3d-4e5f-6789-abcd-ef0123456789, NVIDIA A100-SXM4-80GB, 81920, 0, 0, 31, [N/A]',
  '2, GPU-11111111-2222-3333-4444-555555555555, NVIDIA GeForce RTX 4090, 24564, 300, 12, 45, [Not Supported]',
  '',
].join('\n');

describe('parseNvidiaSmiCsv', () => {
  it('reads every GPU line with its readings', () => {
    const gpus = parseNvidiaSmiCsv(SAMPLE);
    expect(gpus).toHaveLength(3);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-5b2b9a4c-8c3e-4f6e-9b1a-0d2f6e7c8a91',
      name: 'NVIDIA H100 80GB HBM3',
      memoryTotalMiB: 81559,
      memoryUsedMiB: 1024,
      utilizationPct: 97,
      temperatureC: 64,
      powerW: 612.45,
    });
  });

  it('turns unsupported readings into 0 and keeps the GPU', () => {
    const [, a100, rtx] = parseNvidiaSmiCsv(SAMPLE);
    expect(a100?.powerW).toBe(0);
    expect(rtx?.powerW).toBe(0);
    expect(rtx?.index).toBe(2);
  });

  it('skips headers, errors and blank output', () => {
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('index, uuid, name, memory.total [MiB], x, y, z, w')).toEqual([]);
    expect(parseNvidiaSmiCsv('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toEqual([]);
  });
});

describe('gpuModelFromName', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 'H100'],
    ['NVIDIA H100 PCIe', 'H100'],
    ['NVIDIA A100-SXM4-80GB', 'A100'],
    ['Tesla V100-SXM2-16GB', 'V100'],
    ['NVIDIA GeForce RTX 4090', 'RTX4090'],
    ['NVIDIA L40S', 'L40S'],
    ['NVIDIA GH200 480GB', 'GH200'],
  ])('%s → %s', (name, model) => {
    expect(gpuModelFromName(name)).toBe(model);
  });
});

describe('vramGbFromMiB', () => {
  it('rounds to the GB a provider advertises', () => {
    expect(vramGbFromMiB(81559)).toBe(80);
    expect(vramGbFromMiB(40960)).toBe(40);
    expect(vramGbFromMiB(24564)).toBe(24);
  });
});
