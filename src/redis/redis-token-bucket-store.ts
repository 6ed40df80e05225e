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
 *
 * One call decides a batch of takes, strictly in order and at one TIME: ARGV holds (tokens, msPerToken,
 * capacity) per take. A refusal changes nothing, so a later, smaller take may still be granted. Returns
 * {seconds, microseconds, wait of take 1, wait of take 2, …}: the time as TIME's own strings (Lua numbers
 * reach the client as integers), and a wait of 0 for a grant (a refusal always waits at least 1 ms).
 */
const TAKE = new LuaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local emptyAt = tonumber(redis.call('GET', KEYS[1]))
local ttl = 0
local reply = {t[1], t[2]}
for i = 1, #ARGV, 3 do
  local tokens = tonumber(ARGV[i])
  local msPerToken = tonumber(ARGV[i + 1])
  local fullSpan = tonumber(ARGV[i + 2]) * msPerToken
  local start = now - fullSpan
  if emptyAt and emptyAt > start then start = emptyAt end
  local nextAt = start + tokens * msPerToken
  if nextAt <= now + 1e-6 then
    emptyAt = nextAt
    ttl = math.max(1, math.ceil(nextAt + fullSpan - now))
    reply[#reply + 1] = 0
  else
    reply[#reply + 1] = math.max(1, math.ceil(nextAt - now - 1e-6))
  end
end
-- The last grant's write is the one a take-by-take run would leave; %.17g round-trips a double exactly.
if ttl > 0 then redis.call('SET', KEYS[1], string.format('%.17g', emptyAt), 'PX', ttl) end
return reply
`);

/** Most takes one script call decides: bounds the size of a command and of the script's run. */
const MAX_BATCH = 256;

// A promise continuation runs after the code that issued the takes, and fake timers never fake it (they
// do fake process.nextTick, setImmediate and queueMicrotask, so waiting on those would hang a user's test).
const RESOLVED = Promise.resolve();

/** A take waiting in the open batch for the script call that decides it. */
interface QueuedTake {
  readonly tokens: number;
  readonly nowMs: number;
  readonly bucket: TokenBucketSpec;
  resolve(result: RedisTakeResult): void;
  reject(error: Error): void;
}

/** What the Redis store answers: a {@link TakeResult} plus the Redis time of the decision. */
export interface RedisTakeResult extends TakeResult {
  /** Redis TIME when the take was decided, in ms since the epoch (the local clock's time in fallback). */
  readonly at: number;
}

/**
 * A {@link TokenBucketStore} in Redis, shared by every process that uses the same client, prefix and name.
 * Takes are decided by a Lua script: weighted, atomic, never consuming on refusal, and answering a refusal
 * with the exact wait, so the limiter sleeps once instead of polling. Takes issued together (in the same
 * tick, up to 256) share one script call and one round trip, decided in the order they were issued; a take
 * on its own is a round trip of its own.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'dspu';
 * import { redisStore } from 'dspu/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
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
  // Takes issued since the last flush: sent together once the code that issued them has run.
  private batch: QueuedTake[] = [];

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
      return this.fallback(tokens, nowMs, bucket);
    }
    return new Promise((resolve, reject) => {
      const length = this.batch.push({ tokens, nowMs, bucket, resolve, reject });
      if (length === 1) void RESOLVED.then(this.flush);
      else if (length === MAX_BATCH) this.flush();
    });
  }

  /** Sends the open batch as one script call (a no-op when a full batch was sent already). */
  private readonly flush = (): void => {
    const takes = this.batch;
    if (takes.length === 0) return;
    this.batch = [];
    const args: number[] = [];
    for (const { tokens, bucket } of takes) args.push(tokens, bucket.msPerToken, bucket.capacity);
    this.link.run(TAKE, [this.key], args).then(
      (reply) => this.settle(takes, reply as (string | number)[]),
      (error: unknown) => this.fail(takes, error),
    );
  };

  private settle(takes: readonly QueuedTake[], reply: readonly (string | number)[]): void {
    this.link.succeeded();
    const at = Number(reply[0]) * 1000 + Number(reply[1]) / 1000;
    // Results are read-only: the grants of one batch can share one.
    const granted: RedisTakeResult = { granted: true, waitMs: 0, at };
    for (let i = 0; i < takes.length; i++) {
      const waitMs = reply[i + 2] as number;
      takes[i].resolve(waitMs === 0 ? granted : { granted: false, waitMs, at });
    }
  }

  /** One failed command is one failure (one `storeError`); each of its takes then follows the mode. */
  private fail(takes: readonly QueuedTake[], error: unknown): void {
    const failure = this.link.failed(error);
    for (const take of takes) {
      if (this.link.mode === 'fail-closed') take.reject(failure);
      else take.resolve(this.fallback(take.tokens, take.nowMs, take.bucket));
    }
  }

  /** The answer of the 'local' or 'fail-open' mode while Redis cannot answer. */
  private fallback(tokens: number, nowMs: number, bucket: TokenBucketSpec): RedisTakeResult {
    if (this.link.mode === 'fail-open') return { granted: true, waitMs: 0, at: nowMs };
    return { ...this.local.take(tokens, nowMs, bucket), at: nowMs };
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
