import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local quote service whose health the sample controls: it answers 503 while "failing". */
export interface Upstream {
  readonly url: string;
  /** Requests received so far. */
  requests(): number;
  /** Fails the next `count` requests (Infinity: until told otherwise). */
  fail(count: number): void;
  close(): Promise<void>;
}

/** Starts the upstream on 127.0.0.1, on a free port. */
export async function startUpstream(): Promise<Upstream> {
  let requests = 0;
  let failuresLeft = 0;
  const server = createServer((_request, response) => {
    requests++;
    if (failuresLeft > 0) {
      failuresLeft--;
      response.writeHead(503).end('overloaded');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ quote: 'Fall seven times, stand up eight.', at: requests }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/quote`,
    requests: () => requests,
    fail: (count) => void (failuresLeft = count),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
