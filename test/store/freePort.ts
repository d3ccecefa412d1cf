import net from 'node:net';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago, for servers that must restart on the same address. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for a port-0 listener');
  return address.port;
}
