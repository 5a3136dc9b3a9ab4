import { parseHostAgentOptions, UsageError } from '../../../workers/host-agent/options';

const base = ['--host-id', 'prov1-host1', '--provider-key', 'pk_test'];

/** The options read from the environment, cleared so that the machine running the tests does not decide them. */
const ENV = ['API_URL', 'PROVIDER_KEY', 'DOCKER_SOCKET', 'CONTAINER_NETWORK', 'CONTAINER_PIDS_LIMIT', 'CONTAINER_MEMORY_MIB', 'REPORT_INTERVAL_SECONDS', 'LOG_LEVEL'];
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

describe('parseHostAgentOptions', () => {
  it('fills defaults: hardened containers with no network, reports every 2 s', () => {
    const options = parseHostAgentOptions([...base, '--simulate-gpus', 'H100:80:2.50x2']);
    expect(options).toEqual({
      hostId: 'prov1-host1',
      apiUrl: 'http://127.0.0.1:8080',
      providerKey: 'pk_test',
      keyFile: expect.stringMatching(/hosts[/\\]prov1-host1\.key\.json$/) as unknown as string,
      simulateGpus: [{ model: 'H100', vramGb: 80, pricePerGpuHour: '2.50', count: 2 }],
      gpuPrice: undefined,
      dockerSocket: '/var/run/docker.sock',
      containerNetwork: 'none',
      pidsLimit: 4096,
      memoryBytes: 0,
      reportIntervalMs: 2_000,
      logLevel: 'info',
    });
  });

  it('converts the report interval to milliseconds and the memory limit to bytes', () => {
    const options = parseHostAgentOptions([
      ...base, '--report-interval', '0.5', '--container-pids-limit', '256', '--container-memory-mib', '2048', '--container-network', 'host',
    ]);
    expect(options).toMatchObject({ reportIntervalMs: 500, pidsLimit: 256, memoryBytes: 2048 * 1024 * 1024, containerNetwork: 'host' });
  });

  it('takes the new options from the environment', () => {
    process.env.REPORT_INTERVAL_SECONDS = '5';
    process.env.CONTAINER_PIDS_LIMIT = '100';
    process.env.CONTAINER_MEMORY_MIB = '64';
    expect(parseHostAgentOptions(base)).toMatchObject({ reportIntervalMs: 5_000, pidsLimit: 100, memoryBytes: 64 * 1024 * 1024 });
  });

  it.each([
    [['--provider-key', 'k'], /--host-id/],
    [['--host-id', '../etc', '--provider-key', 'k'], /--host-id/],
    [[...base, '--container-network', 'bridge'], /--container-network/],
    [[...base, '--gpu-price', 'cheap'], /--gpu-price/],
    [[...base, '--simulate-gpus', 'H100'], /--simulate-gpus/],
    [[...base, '--api-url', 'ftp://x'], /--api-url/],
    [[...base, '--report-interval', '0'], /--report-interval/],
    [[...base, '--report-interval', '61'], /--report-interval/],
    [[...base, '--report-interval', 'soon'], /--report-interval/],
    [[...base, '--container-pids-limit', '15'], /--container-pids-limit/],
    [[...base, '--container-pids-limit', '1.5e3'], /--container-pids-limit/],
    [[...base, '--container-memory-mib', '63'], /--container-memory-mib/],
    [[...base, '--container-memory-mib', '-1'], /--container-memory-mib/],
  ])('names the bad option in %j', (argv, message) => {
    expect(() => parseHostAgentOptions(argv)).toThrow(UsageError);
    expect(() => parseHostAgentOptions(argv)).toThrow(message);
  });

  it.each(['--temporal-address', '--namespace', '--proof-interval', '--reconcile-grace', '--heartbeat-interval'])(
    'refuses the removed option %s as unknown',
    (option) => {
      expect(() => parseHostAgentOptions([...base, option, '5'])).toThrow(UsageError);
      expect(() => parseHostAgentOptions([...base, option, '5'])).toThrow(new RegExp(`unknown option '${option}'`));
    },
  );

  it('requires a provider key', () => {
    expect(() => parseHostAgentOptions(['--host-id', 'h1'])).toThrow(/--provider-key/);
  });
});
