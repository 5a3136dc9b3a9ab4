/**
 * The cluster topology's one API address: connections spread over the API processes in turn, and go to
 * the next one while a process is down (killed, restarting), so clients keep being answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TcpBalancer } from '../../../scripts/launcher/tcp-balancer';
import { startTcpBalancer } from '../../../scripts/launcher/tcp-balancer';

const servers: http.Server[] = [];
let balancer: TcpBalancer | undefined;

async function apiProcess(name: string, port = 0): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  servers.push(server);
  return server;
}
const portOf = (server: http.Server) => (server.address() as AddressInfo).port;
const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));
// A new connection per request (no keep-alive), as each request then shows which process took it.
const get = async (address: string) => (await fetch(`http://${address}/`, { headers: { connection: 'close' } })).text();

afterEach(async () => {
  await balancer?.close();
  await Promise.all(servers.splice(0).map((server) => (server.listening ? close(server) : undefined)));
});

test('connections take the API processes in turn', async () => {
  const [a, b] = [await apiProcess('api-1'), await apiProcess('api-2')];
  balancer = await startTcpBalancer({ host: '127.0.0.1', port: 0 }, [a, b].map((s) => ({ host: '127.0.0.1', port: portOf(s) })));
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await get(balancer.address));
  expect(answers).toEqual(['api-1', 'api-2', 'api-1', 'api-2']);
});

test('a process that is down is skipped, and taken again once it is back', async () => {
  const [a, b] = [await apiProcess('api-1'), await apiProcess('api-2')];
  const portA = portOf(a);
  balancer = await startTcpBalancer({ host: '127.0.0.1', port: 0 }, [portA, portOf(b)].map((port) => ({ host: '127.0.0.1', port })));
  await close(a);
  const whileDown = [];
  for (let i = 0; i < 4; i++) whileDown.push(await get(balancer.address));
  expect(whileDown).toEqual(['api-2', 'api-2', 'api-2', 'api-2']);
  await apiProcess('api-1 again', portA);
  const answers = new Set<string>();
  for (let i = 0; i < 4; i++) answers.add(await get(balancer.address));
  expect(answers).toEqual(new Set(['api-1 again', 'api-2']));
});

test('names stand for every address they resolve to', async () => {
  const a = await apiProcess('api-1');
  balancer = await startTcpBalancer({ host: '127.0.0.1', port: 0 }, [{ host: 'localhost', port: portOf(a) }]);
  expect(await get(balancer.address)).toBe('api-1');
});
