import net from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 that a test can cut and resume, to drop an
 * agent's connection without stopping the server behind it.
 */
export class TcpProxy {
  private listener: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** host:port the proxy listens on; the same across cut() and resume(). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts listening, on a free port the first time and on the same port after cut(). */
  async resume(): Promise<void> {
    const listener = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
  }

  /** Stops listening and resets every open connection, as a network failure would. */
  async cut(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const socket of this.sockets) {
      socket.resetAndDestroy();
    }
    if (listener !== undefined) {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  }
}
