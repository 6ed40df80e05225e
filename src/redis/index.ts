/**
 * dspu/redis: rate limits, concurrency permits and circuit breakers shared by every process of a fleet, kept in Redis (ioredis is a
 * peer dependency).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'dspu';
 * import { redisStore } from 'dspu/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const store = redisStore(redis, 'payments');
 * store.events.on('fallback', ({ error }) => log.warn('payments limit is per process until Redis is back', error));
 * const payments = new RateLimiter({ rate: 10, per: '1s', store });
 * ```
 * @packageDocumentation
 * @module dspu/redis
 */
export {
  RedisTokenBucketStore,
  redisStore,
  type RedisTakeResult,
} from './redis-token-bucket-store.js';
export {
  RedisStoreError,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
  type StoreErrorMode,
} from './redis-link.js';
export { RedisCircuitBreaker, type RedisCircuitBreakerOptions } from './redis-circuit-breaker.js';
export {
  RedisConcurrencyLimiter,
  type RedisConcurrencyLimiterOptions,
} from './redis-concurrency-limiter.js';
export { RedisRetryBudgetStore } from './redis-retry-budget-store.js';
export {
  withRedisStores,
  type RedisAwareConfig,
  type RedisRateLimiterEntry,
  type RedisCircuitBreakerEntry,
  type RedisConcurrencyEntry,
  type RedisRetryBudgetEntry,
} from './redis-config.js';
