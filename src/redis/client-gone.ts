import type { Cluster, Redis, RedisOptions } from 'ioredis';
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

/**
 * A new connection made from `client`, with `redisOptions` over its own (for a Cluster, over those of each node's
 * connection). It reconnects as `client` would, while `client` lives. A Cluster's `duplicate` takes its startup
 * nodes first and its options second, with the options of its nodes' connections under `redisOptions`.
 */
export function duplicateWhileClientLives(
  client: RedisClient,
  redisOptions: Partial<RedisOptions>,
): RedisClient {
  if ((client as Cluster).isCluster === true) {
    const cluster = client as Cluster;
    const reconnectAfter = cluster.options.clusterRetryStrategy;
    return cluster.duplicate([], {
      redisOptions: { ...cluster.options.redisOptions, ...redisOptions },
      clusterRetryStrategy(this: Cluster, times: number, reason?: Error) {
        return clientGone(client) ? null : reconnectAfter?.call(this, times, reason);
      },
    });
  }
  const redis = client as Redis;
  const reconnectAfter = redis.options.retryStrategy;
  return redis.duplicate({
    ...redisOptions,
    retryStrategy: (times) => (clientGone(client) ? null : reconnectAfter?.(times)),
  });
}
