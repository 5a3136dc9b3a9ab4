import net from 'node:net';

/** A port the OS says is free right now (tests start servers on these). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Fails with a message naming the setting when something already listens on the port: most often a
 * launcher from an earlier run that is still alive, whose servers would otherwise be silently reused.
 */
export async function assertPortFree(host: string, port: number, setting: string, what: string = setting): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `${host}:${port} (${what}) is already in use${error.code === 'EADDRINUSE' ? '' : `: ${error.message}`}; ` +
            `stop what listens there (an earlier \`npm start\`?) or set ${setting} to another port`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
