/**
 * docker-compose.yml is the production topology: it must be a valid Compose file, and every variable it
 * gives an engine service must be one the code reads (a misspelt variable is silently ignored otherwise),
 * with everything a production process needs actually set.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../../infra/config';
import { parseHostAgentOptions } from '../../../workers/host-agent/options';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const REQUIRED = { POSTGRES_PASSWORD: 'secret', HOST_ID: 'gpu-node-1', PROVIDER_KEY: 'le_prv_example' };
const ENGINE_SERVICES = ['engine-setup', 'api', 'control-worker', 'api-cli'];

interface Service {
  image?: string;
  secrets?: (string | { source?: string; target?: string })[];
  command?: string[];
  environment?: Record<string, string | number | null>;
  volumes?: (string | { source?: string; target?: string })[];
  ports?: unknown[];
  deploy?: {
    replicas?: number;
    resources?: { reservations?: { devices?: { driver?: string; count?: string | number; capabilities?: string[] }[] } };
  };
}

const composeBinary = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0 ? 'docker-compose' : undefined;

function composeConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The rendered file (interpolated by docker-compose when it is installed, else the raw YAML, anchors merged). */
function services(): Record<string, Service> {
  const text = composeBinary
    ? execFileSync('docker-compose', ['-f', COMPOSE_FILE, 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...REQUIRED } })
    : readFileSync(COMPOSE_FILE, 'utf8');
  return (parse(text, { merge: true }) as { services: Record<string, Service> }).services;
}

/** The environment variables `read` looks at, seen through a recording proxy. */
function variablesRead(read: (env: NodeJS.ProcessEnv) => void): Set<string> {
  const seen = new Set<string>();
  const record = (key: string | symbol) => {
    if (typeof key === 'string') seen.add(key);
  };
  read(new Proxy({} as NodeJS.ProcessEnv, { get: (_t, key) => void record(key), has: (_t, key) => (record(key), false) }));
  return seen;
}

/** Runs `work` with process.env replaced: the host agent's options read process.env directly. */
function withProcessEnv<T>(env: NodeJS.ProcessEnv, work: () => T): T {
  const saved = process.env;
  process.env = env;
  try {
    return work();
  } finally {
    process.env = saved;
  }
}

const envOf = (service: Service | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(service?.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]));

const configVariables = variablesRead((env) => loadConfig(env));
const hostAgentVariables = variablesRead((env) =>
  withProcessEnv(env, () => parseHostAgentOptions(['--host-id', 'probe', '--provider-key', 'probe'])),
);

describe('docker-compose.yml', () => {
  const all = services();

  it('is a valid Compose file (docker-compose config), and refuses to render without its secrets', () => {
    if (!composeBinary) {
      // setup.sh (test mode) installs docker-compose where apt can; elsewhere the YAML checks below still run.
      console.warn('docker-compose not installed: schema validation skipped, YAML checks only');
      return;
    }
    expect(composeConfig(REQUIRED).status).toBe(0);
    const missing = composeConfig({ HOST_ID: 'h', PROVIDER_KEY: 'k' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/POSTGRES_PASSWORD/);
  });

  it('describes the production topology', () => {
    expect(Object.keys(all)).toEqual(
      expect.arrayContaining([
        'postgresql', 'temporal-schema', 'temporal', 'temporal-ui', 'engine-setup', 'api', 'api-balancer', 'control-worker', 'host-agent',
      ]),
    );
    // Temporal's server on PostgreSQL as `npm run start:cluster` runs it: the image's own build and set-up code.
    for (const name of ['temporal-schema', 'temporal']) {
      expect(all[name]?.image).toBe('lease-engine:latest');
      expect(envOf(all[name]).TEMPORAL_DATABASE_URL).toMatch(/^postgres:\/\/lease:.+@postgresql:5432$/);
    }
    expect(all['temporal-schema']?.command).toEqual(['temporal', 'schema']);
    expect(all.temporal?.command?.slice(0, 2)).toEqual(['temporal', 'start']);
    // Two API processes behind one published address; two control workers.
    expect(all.api?.deploy?.replicas).toBe(2);
    expect(all.api?.ports ?? []).toEqual([]);
    expect(all['api-balancer']?.command).toEqual(['balancer', '--listen', '0.0.0.0:8080', '--backend', 'api:8080']);
    expect(all['control-worker']?.deploy?.replicas).toBe(2);
  });

  it('gives the host agent the GPUs, the Docker socket and its identity', () => {
    const agent = all['host-agent'];
    expect(agent?.deploy?.resources?.reservations?.devices).toEqual([
      expect.objectContaining({ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }),
    ]);
    const volumes = (agent?.volumes ?? []).map((volume) =>
      (typeof volume === 'string' ? volume : `${volume.source}:${volume.target}`).replace(/:(rw|ro)$/, ''),
    );
    expect(volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(agent?.command?.slice(0, 2)).toEqual(['host-agent', '--host-id']);
  });

  it.each(ENGINE_SERVICES)('%s sets only variables the engine reads, and all it needs', (name) => {
    const env = envOf(all[name]);
    const unknown = Object.keys(env).filter((key) => !configVariables.has(key));
    expect(unknown).toEqual([]);
    expect(env).toHaveProperty('DATABASE_URL');
    expect(env).toHaveProperty('TEMPORAL_ADDRESS');
    if (composeBinary) expect(() => loadConfig(env)).not.toThrow();
  });

  it('api listens on every interface of its container, and api and control workers know the Solana RPC URL', () => {
    expect(envOf(all.api)).toMatchObject({ API_HOST: '0.0.0.0' });
    expect(envOf(all.api)).toHaveProperty('SOLANA_RPC_URL');
    expect(envOf(all['control-worker'])).toHaveProperty('SOLANA_RPC_URL');
  });

  it('only control workers hold the settlement authority key, mounted as a secret file', () => {
    const secretNames = (service: Service | undefined) =>
      (service?.secrets ?? []).map((secret) => (typeof secret === 'string' ? secret : secret.source));
    expect(secretNames(all['control-worker'])).toEqual(['settlement-authority']);
    expect(envOf(all['control-worker'])).toMatchObject({ SETTLEMENT_AUTHORITY_KEYPAIR: '/run/secrets/settlement-authority' });
    for (const [name, service] of Object.entries(all)) {
      if (name === 'control-worker') continue;
      expect([name, envOf(service)]).not.toEqual([name, expect.objectContaining({ SETTLEMENT_AUTHORITY_KEYPAIR: expect.anything() })]);
      expect([name, secretNames(service)]).toEqual([name, []]);
    }
  });

  it('host-agent sets only variables the agent reads, and its command line parses', () => {
    const agent = all['host-agent'];
    const env = envOf(agent);
    expect(Object.keys(env).filter((key) => !hostAgentVariables.has(key))).toEqual([]);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['PROVIDER_KEY', 'API_URL']));
    // Outside the trust boundary: a host agent is given no way to Temporal or the database.
    for (const inside of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'DATABASE_URL', 'SETTLEMENT_AUTHORITY_KEYPAIR']) {
      expect(env).not.toHaveProperty(inside);
    }
    if (!composeBinary) return;
    const options = withProcessEnv(env, () => parseHostAgentOptions(agent?.command?.slice(1) ?? []));
    expect(options).toMatchObject({ hostId: REQUIRED.HOST_ID, providerKey: REQUIRED.PROVIDER_KEY, containerNetwork: 'none', pidsLimit: 4096 });
  });

  it('publishes no Temporal port: provider machines cannot reach it', () => {
    expect(all.temporal?.ports ?? []).toEqual([]);
  });

  it('runs only roles the image knows', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const roles = new Set([...dockerfile.matchAll(/^\s+([a-z-]+)\) exec /gm)].map((match) => match[1]));
    expect([...roles].sort()).toEqual(['api', 'balancer', 'cli', 'control-worker', 'host-agent', 'setup', 'temporal']);
    for (const [name, service] of Object.entries(all)) {
      if (service.image !== 'lease-engine:latest') continue;
      expect([name, roles.has(service.command?.[0])]).toEqual([name, true]);
    }
  });
});
