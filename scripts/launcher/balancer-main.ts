/**
 * The image's `balancer` role (docker-compose.yml): the API processes' one address, the same TCP balancer
 * `npm run start:cluster` puts in front of its API processes (scripts/launcher/tcp-balancer.ts).
 *   balancer --listen 0.0.0.0:8080 --backend api:8080 [--backend …]
 * A backend's host name stands for all its addresses (every replica of a Compose service).
 */
import { Command } from 'commander';
import type { Backend } from './tcp-balancer';
import { startTcpBalancer } from './tcp-balancer';

function hostPort(value: string): Backend {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new Error(`${value}: expected host:port`);
  return { host: match[1]!, port };
}

async function main(): Promise<void> {
  const opts = new Command('balancer')
    .requiredOption('--listen <host:port>', 'address to listen on', hostPort)
    .requiredOption('--backend <host:port>', 'an API process (repeat for more)', (value: string, all: Backend[] = []) => [...all, hostPort(value)])
    .parse()
    .opts<{ listen: Backend; backend: Backend[] }>();
  const balancer = await startTcpBalancer(opts.listen, opts.backend);
  console.log(`balancer on ${balancer.address} → ${opts.backend.map((b) => `${b.host}:${b.port}`).join(', ')}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void balancer.close().then(() => process.exit(0)));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
