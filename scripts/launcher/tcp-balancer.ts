/**
 * One address in front of several API processes (the cluster topology): each new TCP connection goes to
 * the next backend in turn, and to the one after it when that one refuses (restarting, or killed), so a
 * client sees an API process die only on the connections that process held. TCP, not HTTP: long polls,
 * server-sent events and keep-alive pass through untouched; API processes are stateless, any one answers.
 * A backend named by a host name stands for every address it resolves to, looked up per connection (a
 * Compose service with replicas: each replica is one address of the service's name).
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

export interface TcpBalancer {
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

/** A connection waits this long for a backend to accept before the next one is tried. */
const CONNECT_TIMEOUT_MS = 2_000;

export async function startTcpBalancer(listen: Backend, backends: Backend[]): Promise<TcpBalancer> {
  if (backends.length === 0) throw new Error('the balancer needs at least one backend');
  let next = 0;
  const open = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };

  const server = net.createServer((client) => {
    track(client);
    client.pause();
    client.on('error', () => client.destroy());
    const attempt = (targets: Backend[], first: number, tried: number) => {
      if (client.destroyed) return;
      if (tried >= targets.length) {
        // Every API process is down: the client sees a reset, as it would from a dead server.
        client.destroy();
        return;
      }
      const backend = targets[(first + tried) % targets.length]!;
      const upstream = net.connect({ host: backend.host, port: backend.port });
      track(upstream);
      upstream.setTimeout(CONNECT_TIMEOUT_MS);
      const retry = () => {
        upstream.destroy();
        attempt(targets, first, tried + 1);
      };
      upstream.once('timeout', retry);
      upstream.once('error', retry);
      upstream.once('connect', () => {
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        upstream.setTimeout(0);
        upstream.removeListener('timeout', retry);
        upstream.removeListener('error', retry);
        // Once bytes flowed, a failure ends both sides: a request cannot be replayed safely elsewhere.
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    const turn = next++;
    void candidates(backends).then((targets) => attempt(targets, turn % Math.max(1, targets.length), 0));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    address: `${listen.host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Every address the backends stand for (an IP as itself; a name as all it resolves to; unresolvable: none). */
async function candidates(backends: Backend[]): Promise<Backend[]> {
  const expanded = await Promise.all(
    backends.map(async (backend) => {
      if (net.isIP(backend.host)) return [backend];
      const addresses = await lookup(backend.host, { all: true }).catch(() => []);
      return addresses.map(({ address }) => ({ host: address, port: backend.port }));
    }),
  );
  return expanded.flat();
}
