/**
 * The image's `temporal` role (docker-compose.yml): Temporal's server on PostgreSQL, set up by the same code
 * as `npm run start:cluster` (infra/temporal/cluster-server.ts), in a container.
 *   temporal schema                      create and upgrade Temporal's two databases, then exit (one-shot)
 *   temporal start [--service NAME]...   generate the config and run the services (all four by default)
 * TEMPORAL_DATABASE_URL names the PostgreSQL server and its user (postgres://user:password@host:port).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { TemporalPersistence, TemporalService } from '../../infra/temporal/cluster-server';
import {
  TEMPORAL_SERVICES, prepareTemporalDatabases, requireTemporalServer, temporalClusterPorts, temporalServerArgs,
  writeTemporalServerConfig,
} from '../../infra/temporal/cluster-server';

function persistenceFrom(url: string): TemporalPersistence {
  const parsed = new URL(url);
  if (!parsed.protocol.startsWith('postgres')) throw new Error('TEMPORAL_DATABASE_URL must be a postgres:// URL');
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** The container's own address, which the services announce to each other when they listen on 0.0.0.0. */
function ownAddress(): string {
  const address = Object.values(os.networkInterfaces()).flat().find((entry) => entry?.family === 'IPv4' && !entry.internal);
  if (!address) throw new Error('no non-loopback IPv4 address to announce: set --ip to one');
  return address.address;
}

const databaseUrl = new Option('--database-url <url>', 'PostgreSQL server and user').env('TEMPORAL_DATABASE_URL').makeOptionMandatory();
const program = new Command('temporal');

program
  .command('schema')
  .description("create Temporal's databases when missing and bring their schemas to the newest version")
  .addOption(databaseUrl)
  .action(async (opts: { databaseUrl: string }) => {
    await prepareTemporalDatabases(requireTemporalServer(), persistenceFrom(opts.databaseUrl));
    console.log('temporal and temporal_visibility schemas up to date');
  });

program
  .command('start')
  .description('run Temporal services on the schema `temporal schema` prepared')
  .addOption(databaseUrl)
  .option('--service <name...>', `services to run (${TEMPORAL_SERVICES.join(', ')}); all by default`)
  .option('--ip <address>', 'listen address', '0.0.0.0')
  .option('--frontend-port <port>', "frontend gRPC port; the others follow Temporal's layout", (v) => Number(v), 7233)
  .option('--root <dir>', 'where the generated config goes', path.join(os.tmpdir(), 'temporal'))
  .action((opts: { databaseUrl: string; service?: string[]; ip: string; frontendPort: number; root: string }) => {
    const services = (opts.service ?? [...TEMPORAL_SERVICES]) as TemporalService[];
    const unknown = services.filter((service) => !TEMPORAL_SERVICES.includes(service));
    if (unknown.length > 0) throw new Error(`unknown service ${unknown.join(', ')}: use ${TEMPORAL_SERVICES.join(', ')}`);
    const install = requireTemporalServer();
    writeTemporalServerConfig({
      root: opts.root,
      persistence: persistenceFrom(opts.databaseUrl),
      ports: temporalClusterPorts(opts.frontendPort),
      ip: opts.ip,
      broadcastIp: opts.ip === '0.0.0.0' ? ownAddress() : opts.ip,
    });
    // The server in the foreground with our signals passed on: a stop reaches it, its exit is ours.
    const server = spawn(install.server, temporalServerArgs(opts.root, services), { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.kill(signal));
    server.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
