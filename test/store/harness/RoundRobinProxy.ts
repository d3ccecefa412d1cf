import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that sends each new connection to the next target
 * in turn. Agents connect to one address only, so in the failover test they
 * reach the replicas through it: a connection that lands on a follower gets
 * UNAVAILABLE, the agent reconnects and the next connection tries the other
 * replica.
 */
export class RoundRobinProxy {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  private constructor(
    private readonly targets: string[],
    server: net.Server,
  ) {
    this.server = server;
    server.on('connection', (socket) => this.forward(socket));
  }

  /** Starts listening on 127.0.0.1 at an unused port. */
  static async start(targets: string[]): Promise<RoundRobinProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new RoundRobinProxy(targets, server);
  }

  get address(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening on TCP');
    return `127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private forward(client: net.Socket): void {
    const target = this.targets[this.next++ % this.targets.length]!;
    const separator = target.lastIndexOf(':');
    const upstream = net.connect(Number(target.slice(separator + 1)), target.slice(0, separator));
    this.sockets.add(client);
    this.sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
