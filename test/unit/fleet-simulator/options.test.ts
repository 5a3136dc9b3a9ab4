import { parseFleetSimulatorOptions, UsageError } from '../../../workers/fleet-simulator/options';

const ENV = ['API_URL', 'PROVIDER_KEYS', 'LOG_LEVEL'];
const saved = new Map<string, string | undefined>();
beforeEach(() => {
  for (const name of ENV) {
    saved.set(name, process.env[name]);
    delete process.env[name];
  }
});
afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('parseFleetSimulatorOptions', () => {
  it('fills defaults: one H100 per host, reports every 2 s, 64 in flight, keys under the data folder', () => {
    expect(parseFleetSimulatorOptions(['--hosts', '1000', '--provider-keys', 'k1, k2'], { DATA_DIR: '/d' })).toEqual({
      hosts: 1000,
      apiUrl: 'http://127.0.0.1:8080',
      providerKeys: ['k1', 'k2'],
      gpus: [{ model: 'H100', vramGb: 80, pricePerGpuHour: '2.00', count: 1 }],
      hostPrefix: 'sim',
      keyDir: '/d/fleet-simulator/sim',
      reportIntervalMs: 2_000,
      concurrency: 64,
      statsIntervalMs: 10_000,
      logLevel: 'info',
    });
  });

  it('reads the provider keys from PROVIDER_KEYS', () => {
    process.env.PROVIDER_KEYS = 'a,b,c';
    expect(parseFleetSimulatorOptions(['--hosts', '3']).providerKeys).toEqual(['a', 'b', 'c']);
  });

  it.each([
    [['--provider-keys', 'k'], /--hosts/],
    [['--hosts', '0', '--provider-keys', 'k'], /--hosts.*integer from 1/],
    [['--hosts', '2.5', '--provider-keys', 'k'], /--hosts/],
    [['--hosts', '2'], /--provider-keys/],
    [['--hosts', '2', '--provider-keys', ' , '], /--provider-keys.*at least one key/],
    [['--hosts', '2', '--provider-keys', 'k', '--gpus', 'H100:80'], /--gpus/],
    [['--hosts', '2', '--provider-keys', 'k', '--host-prefix', '-bad'], /--host-prefix/],
    [['--hosts', '2', '--provider-keys', 'k', '--api-url', 'ftp://x'], /--api-url/],
    [['--hosts', '2', '--provider-keys', 'k', '--concurrency', '0'], /--concurrency/],
    [['--hosts', '2', '--provider-keys', 'k', '--report-interval', '0'], /--report-interval/],
  ])('refuses %j naming the option', (argv, message) => {
    expect(() => parseFleetSimulatorOptions(argv)).toThrow(UsageError);
    expect(() => parseFleetSimulatorOptions(argv)).toThrow(message);
  });
});
