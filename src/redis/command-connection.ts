import { duplicateWhileClientLives } from './client-gone.js';
import type { RedisClient } from './redis-link.js';

/*
 * How late a command can run, and so how long Redis must remember that it ran.
 *
 * A store gives up on a command that got no answer in time and follows it with a clean-up (CANCEL, RELEASE,
 * ABANDON) or lets it be (a REPORT, a FORCE): each script remembers its command's id for a while, so that a
 * command run again or late changes nothing. That only holds if the command cannot run after its memory has
 * gone. A client with ioredis' defaults breaks that bound: it resends a command whose reply was lost with its
 * connection on the next connection (`autoResendUnfulfilledCommands`), however long the outage lasted, and a
 * command sent while connecting waits in its offline queue across reconnections (`maxRetriesPerRequest`).
 *
 * So the stores send their commands on a connection of their own, a duplicate of the user's client (one per
 * client, shared by every store on it) that never resends: `maxRetriesPerRequest: 0` fails what is queued or in
 * flight when a connection closes, `autoResendUnfulfilledCommands: false` drops what was in flight. A command
 * then runs on the connection it was written to, in order with what is written after it, or never: one given up
 * on while Redis was merely stalled runs before its clean-up (sent behind it), and one whose connection broke
 * ran before the break or not at all. A memory therefore only has to outlast a stall, and a clean-up that comes
 * after its command's memory is gone finds nothing left to undo but what expires on its own (a lease, tokens
 * the bucket refills).
 *
 * It reconnects as its client would, while its client lives: ioredis emits no `end` for a client disconnected
 * while it was reconnecting, and a duplicate that went on retrying would hold the process open for ever.
 *
 * A client that cannot be duplicated (a stand-in in a test) is used as it is. A Cluster still retries a
 * command on another node after a lost connection, within its `maxRedirections` × `retryDelayOnFailover`.
 */
const NO_RESEND = {
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  // The connection is the library's: no client name or info of the user's application on it.
  disableClientInfo: true,
  // Let go within 100 ms of a socket ended mid-handshake: ioredis otherwise holds it, and so the process, 2 s.
  disconnectTimeout: 100,
} as const;

const connections = new WeakMap<RedisClient, RedisClient>();

/** The connection the stores of `client` send their commands on (made on first use, ended with `client`). */
export function commandConnection(client: RedisClient): RedisClient {
  const existing = connections.get(client);
  if (existing !== undefined) return existing;
  const connection = duplicate(client);
  connections.set(client, connection);
  if (connection !== client) {
    connection.on('error', () => undefined);
    client.once('end', () => {
      connections.delete(client);
      connection.disconnect();
    });
  }
  return connection;
}

function duplicate(client: RedisClient): RedisClient {
  // An ended client makes nothing new; its commands fail as they would on it.
  if (
    typeof (client as { duplicate?: unknown }).duplicate !== 'function' ||
    client.status === 'end'
  )
    return client;
  return duplicateWhileClientLives(client, NO_RESEND);
}
