import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A user as the local API serves it. */
export interface User {
  id: number;
  name: string;
}

/** The local user API, and the switches the sample uses to make it misbehave. */
export interface UserServer {
  readonly url: string;
  /** Requests answered so far, whatever the answer. */
  requests(): number;
  /** Answer the next request for this user with a 503 (a transient failure). */
  failOnce(id: number): void;
  /** While down, every request gets a 503. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** Starts a small JSON user API on 127.0.0.1, on a port the system picks. */
export async function startUserServer(): Promise<UserServer> {
  let count = 0;
  let down = false;
  const failing = new Set<number>();
  const server: Server = createServer((request, response) => {
    count++;
    const id = Number(/^\/users\/(\d+)$/.exec(request.url ?? '')?.[1]);
    if (!Number.isInteger(id)) {
      response.writeHead(404).end('not found');
    } else if (down || failing.delete(id)) {
      response.writeHead(503).end('service unavailable');
    } else {
      const user: User = { id, name: `user-${id}` };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(user));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    failOnce: (id) => void failing.add(id),
    setDown: (value) => void (down = value),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
