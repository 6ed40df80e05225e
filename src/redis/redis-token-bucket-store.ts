import { randomUUID } from 'node:crypto';
import {
  checkAll,
  EventEmitter,
  MemoryTokenBucketStore,
  type TakeResult,
  type TokenBucketSpec,
  type TokenBucketStore,
} from '../index.js';
import {
  checkName,
  RedisLink,
  RedisStoreError,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './redis-link.js';
import { CANCEL, TAKE } from './token-bucket-script.js';

/** Most takes one script call decides: bounds the size of a command and of the script's run. */
const MAX_BATCH = 256;
// A wait without a bound, as a number Lua reads back exactly.
const MAX_WAIT_MS = 2 ** 31;

// A promise continuation runs after the code that issued the takes, and fake timers never fake it (they
// do fake process.nextTick, setImmediate and queueMicrotask, so waiting on those would hang a user's test).
const RESOLVED = Promise.resolve();

/** A take waiting in the open batch for the script call that decides it. */
interface QueuedTake {
  readonly tokens: number;
  readonly nowMs: number;
  readonly bucket: TokenBucketSpec;
  readonly maxWaitMs: number;
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
 * with the exact wait, so the limiter sleeps once instead of polling. Waiting takes are served in the order
 * they first asked, across processes. Takes issued together (in the same tick, up to 256) share one script
 * call and one round trip, decided in the order they were issued; a take on its own is a round trip of its
 * own.
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
  // The line of waiting takes across processes, and this store's place in it.
  private readonly line: string;
  private readonly id = randomUUID();
  private readonly slackMs: number;
  private readonly name: string;
  // Each batch is named, so that Redis runs it once and a batch given up on can be taken back.
  private batches = 0;
  private readonly memoryMs: number;
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
    // Every problem in one ConfigError: the options' and the name's.
    [this.link] = checkAll(
      () => new RedisLink(client, options),
      () => checkName(name),
    );
    this.events = this.link.events;
    this.key = this.link.key(name, 'bucket');
    this.name = name;
    this.line = this.link.key(name, 'line');
    // A waiting head comes back after its wait plus a timer's lateness and a round trip.
    this.slackMs = Math.max(100, 2 * this.link.timeoutMs);
    // Longer than a stalled batch plausibly runs after its caller gave up on it: none is ever resent
    // (command-connection.ts). A CANCEL that comes later finds nothing to refund: the tokens come back as the
    // bucket refills.
    this.memoryMs = Math.max(1_000, 4 * this.link.timeoutMs);
  }

  /**
   * Takes `tokens` from the shared bucket, or says how long until it would hold them. A take with a
   * `maxWaitMs` keeps a place in a line across processes while it waits (tokens that come back are kept for
   * the takes ahead in the line), so a weighted take is served in turn instead of being overtaken by smaller
   * ones from other processes; a take without one (`tryAcquire`) leaves no trace when refused.
   */
  take(
    tokens: number,
    nowMs: number,
    bucket: TokenBucketSpec,
    maxWaitMs = 0,
  ): RedisTakeResult | Promise<RedisTakeResult> {
    if (!this.link.tryRedis()) {
      // A store answers fail-closed refusals as rejections, never as synchronous throws.
      if (this.link.mode === 'fail-closed') return Promise.reject(this.link.unavailable());
      return this.fallback(tokens, nowMs, bucket);
    }
    return new Promise((resolve, reject) => {
      const length = this.batch.push({ tokens, nowMs, bucket, maxWaitMs, resolve, reject });
      if (length === 1) void RESOLVED.then(this.flush);
      else if (length === MAX_BATCH) this.flush();
    });
  }

  /** Sends the open batch as one script call (a no-op when a full batch was sent already). */
  private readonly flush = (): void => {
    const takes = this.batch;
    if (takes.length === 0) return;
    this.batch = [];
    const keys = [
      this.key,
      this.line,
      this.link.key(this.name, `batch:${this.id}:${++this.batches}`),
    ];
    const args: (string | number)[] = [this.id, this.slackMs, this.memoryMs];
    for (const { tokens, bucket, maxWaitMs } of takes)
      args.push(tokens, bucket.msPerToken, bucket.capacity, Math.min(maxWaitMs, MAX_WAIT_MS));
    this.link.run(TAKE, keys, args).then(
      (reply) => this.settle(takes, reply as (string | number)[]),
      (error: unknown) => {
        // Redis may still run the batch (it was stalled, not gone): what it takes then goes back.
        void this.link.insist(CANCEL, keys, [this.memoryMs], this.memoryMs);
        this.fail(takes, error);
      },
    );
  };

  private settle(takes: readonly QueuedTake[], reply: readonly (string | number)[]): void {
    if (reply.length !== takes.length + 2)
      return this.fail(takes, new RedisStoreError('Redis answered a batch given up on'));
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
