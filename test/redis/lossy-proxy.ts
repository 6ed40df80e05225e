import net from 'node:net';

/**
 * A TCP proxy in front of a test Redis that can lose a reply: the next request that matches runs on the server,
 * its reply is dropped, the connection is cut and reconnections are refused for a while (a network partition
 * right after a command ran).
 */
export class LossyProxy {
  private refuseUntil = 0;
  private armed: { match: (request: string) => boolean; downMs: number } | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((socket) => this.accept(socket));

  constructor(private readonly redisPort: number) {}

  /** Listens on a free loopback port and resolves to it. */
  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () =>
        resolve((this.server.address() as net.AddressInfo).port),
      ),
    );
  }

  /** The next request whose text satisfies `match` runs, but its reply is lost and the link is down `downMs`. */
  loseReplyOf(match: (request: string) => boolean, downMs: number): void {
    this.armed = { match, downMs };
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
  }

  private accept(client: net.Socket): void {
    if (Date.now() < this.refuseUntil) return void client.destroy();
    const server = net.connect(this.redisPort, '127.0.0.1');
    this.sockets.add(client).add(server);
    let mute = false;
    client.on('data', (data: Buffer) => {
      server.write(data);
      if (this.armed?.match(data.toString('latin1'))) {
        const { downMs } = this.armed;
        this.armed = undefined;
        mute = true; // the server runs it; its reply never reaches the client
        setTimeout(() => {
          this.refuseUntil = Date.now() + downMs;
          client.destroy();
          server.destroy();
        }, 30);
      }
    });
    server.on('data', (data: Buffer) => {
      if (!mute) client.write(data);
    });
    const end = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }
}
