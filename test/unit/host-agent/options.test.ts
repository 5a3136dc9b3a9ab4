import { parseHostAgentOptions, UsageError } from '../../../workers/host-agent/options';

const base = ['--host-id', 'prov1-host1', '--provider-key', 'pk_test'];

describe('parseHostAgentOptions', () => {
  it('fills defaults and converts seconds to milliseconds', () => {
    const options = parseHostAgentOptions([...base, '--simulate-gpus', 'H100:80:2.50x2', '--proof-interval', '2']);
    expect(options).toMatchObject({
      hostId: 'prov1-host1',
      providerKey: 'pk_test',
      containerNetwork: 'none',
      proofIntervalMs: 2_000,
      heartbeatIntervalMs: 2_000,
      simulateGpus: [{ model: 'H100', vramGb: 80, pricePerGpuHour: '2.50', count: 2 }],
    });
    expect(options.keyFile).toMatch(/hosts[/\\]prov1-host1\.key\.json$/);
  });

  it.each([
    [['--provider-key', 'k'], /--host-id/],
    [['--host-id', '../etc', '--provider-key', 'k'], /--host-id/],
    [[...base, '--container-network', 'bridge'], /--container-network/],
    [[...base, '--gpu-price', 'cheap'], /--gpu-price/],
    [[...base, '--simulate-gpus', 'H100'], /--simulate-gpus/],
    [[...base, '--heartbeat-interval', '-1'], /--heartbeat-interval/],
    [[...base, '--proof-interval', '0'], /--proof-interval/],
    [[...base, '--api-url', 'ftp://x'], /--api-url/],
    [[...base, '--temporal-address', 'nohost'], /--temporal-address/],
  ])('names the bad option in %j', (argv, message) => {
    expect(() => parseHostAgentOptions(argv)).toThrow(UsageError);
    expect(() => parseHostAgentOptions(argv)).toThrow(message);
  });

  it('requires a provider key', () => {
    const saved = process.env.PROVIDER_KEY;
    delete process.env.PROVIDER_KEY;
    try {
      expect(() => parseHostAgentOptions(['--host-id', 'h1'])).toThrow(/--provider-key/);
    } finally {
      if (saved !== undefined) process.env.PROVIDER_KEY = saved;
    }
  });
});
