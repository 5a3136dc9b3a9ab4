import { DEFAULT_CONTAINER_POLICY, hostConfigFor } from '../../../workers/host-agent/docker-runtime';

const MiB = 1024 * 1024;

describe('hostConfigFor', () => {
  it('hardens a lease container by default: no network, no capabilities, no new privileges, a pids limit', () => {
    expect(hostConfigFor(DEFAULT_CONTAINER_POLICY)).toEqual({
      NetworkMode: 'none',
      Init: true,
      Privileged: false,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
      PidsLimit: 4096,
      ReadonlyRootfs: false,
      DeviceRequests: undefined,
    });
  });

  it('sets no memory limit when memoryBytes is 0', () => {
    const config = hostConfigFor(DEFAULT_CONTAINER_POLICY);
    expect(config).not.toHaveProperty('Memory');
    expect(config).not.toHaveProperty('MemorySwap');
  });

  it('limits memory with no swap beyond the limit', () => {
    const config = hostConfigFor({ ...DEFAULT_CONTAINER_POLICY, memoryBytes: 512 * MiB });
    expect(config.Memory).toBe(512 * MiB);
    expect(config.MemorySwap).toBe(512 * MiB);
  });

  it('shares the host network only when the policy says so, still hardened', () => {
    const config = hostConfigFor({ network: 'host', pidsLimit: 128, memoryBytes: 0 });
    expect(config).toMatchObject({
      NetworkMode: 'host',
      PidsLimit: 128,
      Privileged: false,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
    });
  });

  it('passes exactly the assigned GPU through', () => {
    const config = hostConfigFor(DEFAULT_CONTAINER_POLICY, 'GPU-3f2a');
    expect(config.DeviceRequests).toEqual([{ Driver: 'nvidia', DeviceIDs: ['GPU-3f2a'], Capabilities: [['gpu']] }]);
    expect(config.CapDrop).toEqual(['ALL']);
  });
});
