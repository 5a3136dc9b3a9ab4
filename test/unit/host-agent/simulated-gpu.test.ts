import { parseSimulatedGpuSpec, SimulatedGpu, simulatedGpus } from '../../../workers/host-agent/simulated-gpu';

describe('parseSimulatedGpuSpec', () => {
  it('reads model:vramGb:price x count entries', () => {
    expect(parseSimulatedGpuSpec('H100:80:2.50x2,A100:80:1.80x1')).toEqual([
      { model: 'H100', vramGb: 80, pricePerGpuHour: '2.50', count: 2 },
      { model: 'A100', vramGb: 80, pricePerGpuHour: '1.80', count: 1 },
    ]);
  });

  it('defaults the count to one', () => {
    expect(parseSimulatedGpuSpec('L40S:48:0.9')).toEqual([{ model: 'L40S', vramGb: 48, pricePerGpuHour: '0.9', count: 1 }]);
  });

  it.each([
    ['', /expected/],
    ['H100:80', /not model:vramGb/],
    ['H100:80:abcx2', /price "abc"/],
    ['H100:0:2.5x1', /vramGb/],
    ['H100:80:2.5x0', /count/],
    ['H100:80:2.1234567x1', /at most 6 places/],
    ['H100:80:0x1', /above 0/],
  ])('refuses %j', (spec, message) => {
    expect(() => parseSimulatedGpuSpec(spec)).toThrow(message);
  });
});

describe('simulatedGpus', () => {
  it('numbers GPUs across entries with host-scoped ids', () => {
    const gpus = simulatedGpus('h7', parseSimulatedGpuSpec('H100:80:2.50x2,A100:40:1.80'));
    expect(gpus.map((g) => [g.id, g.model, g.vramGb, g.pricePerGpuHour])).toEqual([
      ['h7-gpu0', 'H100', 80, '2.50'],
      ['h7-gpu1', 'H100', 80, '2.50'],
      ['h7-gpu2', 'A100', 40, '1.80'],
    ]);
    expect(gpus.every((g) => g.source === 'simulated' && g.uuid === undefined)).toBe(true);
  });
});

describe('SimulatedGpu telemetry', () => {
  it('says it is simulated and looks busy only while a container runs', async () => {
    const gpu = new SimulatedGpu('h-gpu0', 0, 'H100', 80, '2.50');
    const busy = await gpu.readTelemetry(true);
    const idle = await gpu.readTelemetry(false);
    expect(busy.source).toBe('simulated');
    expect(busy.name).toBe('H100');
    expect(busy.memoryTotalMiB).toBe(80 * 1024);
    expect(busy.utilizationPct).toBeGreaterThan(80);
    expect(busy.utilizationPct).toBeLessThanOrEqual(100);
    expect(idle.utilizationPct).toBeLessThan(5);
    expect(busy.powerW).toBeGreaterThan(idle.powerW);
    for (const value of [busy.memoryUsedMiB, busy.temperatureC, busy.powerW]) expect(Number.isFinite(value)).toBe(true);
  });
});
