import type { RateLimiterOptions, ResilienceConfig, TokenBucketStore } from '../index.js';
import type { RedisClient, RedisStoreOptions } from './redis-link.js';
import { RedisTokenBucketStore } from './redis-token-bucket-store.js';

/** A rate limiter entry of a registry configuration that may name its store `'redis'`. */
export type RedisRateLimiterEntry = Omit<RateLimiterOptions, 'store'> & {
  store?: TokenBucketStore | 'redis';
};

/** A registry configuration in which rate limiter entries (and their `defaults`) may say `store: 'redis'`. */
export type RedisAwareConfig = Omit<ResilienceConfig, 'rateLimiter'> & {
  readonly rateLimiter?: { readonly [name: string]: Partial<RedisRateLimiterEntry> | undefined };
};

/**
 * Turns `store: 'redis'` in a registry configuration into Redis stores on `client`, each keyed by its entry's
 * name, so the configuration stays plain data (JSON) and the client is given once. A `store: 'redis'` in
 * `defaults` applies to every named entry that sets no store of its own.
 *
 * @example
 * ```ts
 * registry.configure(
 *   withRedisStores(redis, {
 *     rateLimiter: { payments: { rate: 10, store: 'redis' }, github: { rate: 5000, per: '1h', store: 'redis' } },
 *   }),
 * );
 * ```
 */
export function withRedisStores(
  client: RedisClient,
  config: RedisAwareConfig,
  options?: RedisStoreOptions,
): ResilienceConfig {
  const entries = config.rateLimiter;
  if (entries === undefined) return config as ResilienceConfig;
  const defaults = entries.defaults;
  const shared = defaults?.store === 'redis';
  const rateLimiter: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(entries)) {
    if (name === 'defaults') {
      const rest = shared ? withoutStore(entry) : entry;
      // A defaults entry that only named the store would be checked as a limiter of its own, without a rate.
      if (rest !== undefined && Object.keys(rest).length > 0) rateLimiter.defaults = rest;
    } else if (entry?.store === 'redis' || (shared && entry?.store === undefined)) {
      // Invalid entries pass through untouched: configure() reports them by path.
      rateLimiter[name] =
        typeof entry === 'object' && entry !== null
          ? { ...entry, store: new RedisTokenBucketStore(client, name, options) }
          : entry;
    } else {
      rateLimiter[name] = entry;
    }
  }
  return { ...config, rateLimiter } as ResilienceConfig;
}

function withoutStore(entry: Partial<RedisRateLimiterEntry> | undefined): object | undefined {
  if (entry === undefined) return undefined;
  const { store: _store, ...rest } = entry;
  return rest;
}
