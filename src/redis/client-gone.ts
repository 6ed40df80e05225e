import type { RedisClient } from './redis-link.js';

/**
 * Whether the user has let `client` go: it ended, or it was disconnected. ioredis emits no `end` for a client
 * disconnected while it was reconnecting (it stays "reconnecting", with no reconnect planned), so its own flag
 * is read too; a connection dspu duplicated from it must then stop reconnecting, or it would hold the process
 * open for ever.
 */
export function clientGone(client: RedisClient): boolean {
  return (
    client.status === 'end' ||
    (client as unknown as { manuallyClosing?: unknown }).manuallyClosing === true
  );
}
