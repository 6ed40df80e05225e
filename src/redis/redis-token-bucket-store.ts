import {
  EventEmitter,
  MemoryTokenBucketStore,
  type TakeResult,
  type TokenBucketSpec,
  type TokenBucketStore,
} from '../index.js';
import {
  checkName,
  LuaScript,
  RedisLink,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './redis-link.js';

/*
 * The same bucket as the in-memory store: one number, the time at which the bucket is (or was) empty, with
 * Redis TIME as the clock so the clocks of the clients never matter. Tokens beyond capacity are not banked.
 * Only a grant writes; the key expires once the bucket would be full again, so an idle limiter leaves nothing.
 * Returns {granted, waitMs, seconds, microseconds} (Lua numbers reach the client as integers: the time goes
 * back as TIME's own strings).
 */
const TAKE = new LuaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local tokens = tonumber(ARGV[1])
local msPerToken = tonumber(ARGV[2])
local fullSpan = tonumber(ARGV[3]) * msPerToken
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local start = now - fullSpan
local emptyAt = tonumber(redis.call('GET', KEYS[1]))
if emptyAt and emptyAt > start then start = emptyAt end
local nextAt = start + tokens * msPerToken
if nextAt <= now + 1e-6 then
  local ttl = math.max(1, math.ceil(nextAt + fullSpan - now))
  redis.call('SET', KEYS[1], string.format('%.17g', nextAt), 'PX', ttl)
  return {1, 0, t[1], t[2]}
end
return {0, math.max(1, math.ceil(nextAt - now - 1e-6)), t[1], t[2]}
`);

/** What the Redis store answers: a {@link TakeResult} plus the Redis time of the decision. */
export interface RedisTakeResult extends TakeResult {
  /** Redis TIME when the take was decided, in ms since the epoch (the local clock's time in fallback). */
  readonly at: number;
}

/**
 * A {@link TokenBucketStore} in Redis, shared by every process that uses the same client, prefix and name.
 * Each take is one Lua script, one round trip: weighted, atomic, never consuming on refusal, and answering a
 * refusal with the exact wait, so the limiter sleeps once instead of polling.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { RateLimiter } from 'dspu';
 * import { redisStore } from 'dspu/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const payments = new RateLimiter({ rate: 10, per: '1s', store: redisStore(redis, 'payments') });
 * await payments.run(() => api.charge(order)); // 10 per second across the whole fleet
 * ```
 */
export class RedisTokenBucketStore implements TokenBucketStore {
  /** Fault events: `storeError`, `fallback`, `recovered`. */
  readonly events: EventEmitter<RedisStoreEvents>;
  /** The Redis key of the bucket. */
  readonly key: string;
  private readonly link: RedisLink;
  // Takes over while Redis is down in 'local' mode; kept across outages so its own limit holds throughout.
  private readonly local = new MemoryTokenBucketStore();

  /**
   * @param client - an ioredis client (single node or cluster)
   * @param name - the limiter's name: processes using the same name share one bucket
   * @throws ConfigError naming each invalid option
   */
  constructor(client: RedisClient, name: string, options?: RedisStoreOptions) {
    this.link = new RedisLink(client, options);
    this.events = this.link.events;
    this.key = this.link.key(checkName(name), 'bucket');
  }

  /** @inheritDoc */
  take(
    tokens: number,
    nowMs: number,
    bucket: TokenBucketSpec,
  ): RedisTakeResult | Promise<RedisTakeResult> {
    if (!this.link.tryRedis()) {
      // A store answers fail-closed refusals as rejections, never as synchronous throws.
      if (this.link.mode === 'fail-closed') return Promise.reject(this.link.unavailable());
      return this.fallback(tokens, nowMs, bucket, undefined);
    }
    return this.link
      .run(TAKE, [this.key], [tokens, bucket.msPerToken, bucket.capacity])
      .then(this.parse, (error: unknown) => this.fallback(tokens, nowMs, bucket, error));
  }

  private readonly parse = (reply: unknown): RedisTakeResult => {
    this.link.succeeded();
    const [granted, waitMs, seconds, micros] = reply as [number, number, string, string];
    return { granted: granted === 1, waitMs, at: Number(seconds) * 1000 + Number(micros) / 1000 };
  };

  private fallback(
    tokens: number,
    nowMs: number,
    bucket: TokenBucketSpec,
    error: unknown,
  ): RedisTakeResult {
    const failure = error === undefined ? undefined : this.link.failed(error);
    switch (this.link.mode) {
      case 'fail-closed':
        throw failure ?? this.link.unavailable();
      case 'fail-open':
        return { granted: true, waitMs: 0, at: nowMs };
      default:
        return { ...this.local.take(tokens, nowMs, bucket), at: nowMs };
    }
  }
}

/**
 * Creates a {@link RedisTokenBucketStore}: the `store` of a `RateLimiter` whose bucket the whole fleet
 * shares.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rate: 100, capacity: 200, store: redisStore(redis, 'github') });
 * ```
 */
export function redisStore(
  client: RedisClient,
  name: string,
  options?: RedisStoreOptions,
): RedisTokenBucketStore {
  return new RedisTokenBucketStore(client, name, options);
}
