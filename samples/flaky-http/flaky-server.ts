import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server that fails the first `failures` requests with 503 and hangs on the next `hangs`. */
export async function startFlakyServer(options: { failures: number; hangs: number }): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((request, response) => {
    count++;
    if (count <= options.failures) {
      response.writeHead(503).end('busy, try again');
    } else if (count <= options.failures + options.hangs) {
      // Never answers: the client's timeout must end the wait, and its abort closes the socket.
      request.on('close', () => response.destroy());
    } else {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ quote: 'Resilience is accepting failure and planning for it.' }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/quote`,
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
