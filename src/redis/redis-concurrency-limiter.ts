import { randomUUID } from 'node:crypto';
import {
  checkAll,
  ConcurrencyLimiter,
  ConfigError,
  EventEmitter,
  splitOptions,
  toError,
  OptionsChecker,
  type ConcurrencyLimiterOptions,
  type Duration,
  type PermitStore,
} from '../index.js';
import {
  checkName,
  REDIS_STORE_OPTION_KEYS,
  RedisLink,
  wholeMs,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './redis-link.js';
import { PermitLeases } from './permit-leases.js';
import { SUBSCRIBE_ON_FIRST_USE, Subscription } from './subscription.js';

/** Options of {@link RedisConcurrencyLimiter}: the limiter's own, plus where and how permits are shared. */
export interface RedisConcurrencyLimiterOptions
  extends Omit<ConcurrencyLimiterOptions, 'store'>, RedisStoreOptions {
  /**
   * How long a permit stays taken without renewal: the permit of a holder that crashed comes back after this.
   * Held permits are renewed every third of it. Default `'10s'`.
   */
  lease?: Duration;
}

// The mark withRedisStores sets travels with the Redis options, which know it.
const REDIS_KEYS = [...REDIS_STORE_OPTION_KEYS, 'lease', SUBSCRIBE_ON_FIRST_USE];

/** A permit taken in Redis (its lease id), from the local fallback, or let through unlimited (fail-open). */
type Ticket = { readonly id: string } | 'local' | 'unlimited';

/**
 * The lease in whole ms (the scripts hand it to PEXPIRE, which takes integers only), checked as every duration
 * option is: `null` is no default but a mistake, as for `commandTimeout`.
 */
function checkLease(redisOptions: Record<string, unknown>): number {
  const o = new OptionsChecker(redisOptions);
  const ms = wholeMs(o, 'lease', 10_000);
  if (ms < 30) o.fail('lease', 'a duration of at least 30 ms');
  o.throwIfInvalid();
  return ms;
}

/**
 * Checks the limiter's own options (`split`, as `splitOptions` gave them from `given`). A bare number is a limit
 * to `ConcurrencyLimiter` but not here (this constructor takes an options object), and a `store` would be
 * replaced by the one in Redis without a word.
 */
function checkLimiterOptions(split: unknown, given: unknown): void {
  const problems: string[] = [];
  if (typeof split === 'number')
    problems.push(ConfigError.invalid('options', 'an options object', split).message);
  // A copy when `given` was an options object; else `given` itself, which ConcurrencyLimiter refuses.
  const store = split !== given ? (split as { store?: unknown }).store : undefined;
  if (store !== undefined)
    problems.push(
      ConfigError.invalid('store', 'no store (the permits are in Redis)', store).message,
    );
  try {
    new ConcurrencyLimiter(split as ConcurrencyLimiterOptions);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * Permits as a distributed semaphore in Redis: a sorted set of leases, renewed while held. It answers the
 * limiter with promises and wakes it when a permit may have been freed elsewhere: a release anywhere (pub/sub)
 * or the earliest lease running out (a holder that crashed).
 */
class RedisPermitStore implements PermitStore<Ticket> {
  private readonly held = new Set<string>();
  private localActive = 0;
  private unlimited = 0;
  private wake: () => void = () => undefined;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly permits: PermitLeases,
    private readonly limit: number,
    readonly leaseMs: number,
    readonly releases: Subscription,
  ) {}

  get active(): number {
    return this.held.size + this.localActive + this.unlimited;
  }

  watch(wake: () => void): void {
    this.wake = wake;
  }

  /** A release message from any process: a permit may be free. */
  readonly released = (): void => this.wake();

  take(): Ticket | undefined | Promise<Ticket | undefined> {
    this.releases.open();
    if (!this.link.tryRedis()) {
      // A store answers fail-closed refusals as rejections: a throw would escape `run()` synchronously.
      if (this.link.mode === 'fail-closed') return Promise.reject(this.link.unavailable());
      return this.degraded(undefined);
    }
    const id = randomUUID();
    return this.permits.take(id, this.limit).then(
      (wait) => {
        if (wait !== 0) {
          this.wakeIn(wait);
          return undefined;
        }
        this.hold(id);
        return { id };
      },
      (error: unknown) => this.degraded(toError(error)),
    );
  }

  give(ticket: Ticket): void {
    if (ticket === 'local') {
      if (this.localActive > 0) this.localActive--;
    } else if (ticket === 'unlimited') {
      if (this.unlimited > 0) this.unlimited--;
    } else void this.giveBack(ticket.id);
  }

  /** Gives back every permit still held (before the limiter is closed). */
  giveBackAll(): Promise<void> {
    return Promise.all([...this.held].map((id) => this.giveBack(id))).then(() => undefined);
  }

  private hold(id: string): void {
    this.held.add(id);
    if (this.renewTimer === undefined) {
      this.renewTimer = setInterval(this.renew, Math.floor(this.leaseMs / 3));
      this.renewTimer.unref?.();
    }
  }

  private giveBack(id: string): Promise<void> {
    if (!this.held.delete(id)) return Promise.resolve();
    if (this.held.size === 0 && this.renewTimer !== undefined) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    return this.permits.giveBack(id);
  }

  private readonly renew = (): void => {
    if (this.held.size > 0) this.permits.renew([...this.held]);
  };

  // No release message may come (the holder crashed): look again when the earliest lease ends.
  private wakeIn(ms: number): void {
    if (this.wakeTimer !== undefined) return;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wake();
      },
      Math.min(ms, this.leaseMs) + 1,
    );
    this.wakeTimer.unref?.();
  }

  /** Redis cannot answer: the permit comes from `onStoreError`'s fallback. */
  private degraded(error: Error | undefined): Ticket | undefined {
    switch (this.link.mode) {
      case 'local':
        if (this.localActive >= this.limit) return undefined;
        this.localActive++;
        return 'local';
      case 'fail-open':
        this.unlimited++;
        return 'unlimited';
      default:
        throw error ?? this.link.unavailable();
    }
  }
}

/**
 * A {@link ConcurrencyLimiter} whose permits are a distributed semaphore in Redis: at most `limit` calls run at
 * once across every process using the same name. Permits are leases renewed while held, so the permit of a
 * process that crashed comes back after `lease`. Waiters queue in their own process (FIFO, `maxQueue`,
 * `maxWait`, `signal` as in memory) and are woken by a release anywhere (pub/sub) or when the earliest lease
 * ends. It holds a subscriber connection (a duplicate of `client`): call {@link RedisConcurrencyLimiter.close}
 * when done, or quit `client`, which ends it too (held permits then come back when their leases end).
 *
 * @example
 * ```ts
 * const db = new RedisConcurrencyLimiter(redis, 'reporting-db', { limit: 10, maxWait: '5s', lease: '30s' });
 * const rows = await db.run(() => pool.query(sql)); // at most 10 queries at once, fleet-wide
 * ```
 */
export class RedisConcurrencyLimiter extends ConcurrencyLimiter {
  /** Fault events of the shared store: `storeError`, `fallback`, `recovered`. */
  readonly storeEvents: EventEmitter<RedisStoreEvents>;
  /** The lease of a permit, in ms. */
  readonly leaseMs: number;

  /**
   * @param client - an ioredis client; a duplicate of it listens for releases
   * @param name - processes using the same name share one set of permits
   * @throws ConfigError naming every invalid option at once
   */
  constructor(client: RedisClient, name: string, options: RedisConcurrencyLimiterOptions) {
    const [limiterOptions, redisOptions] = splitOptions(options, REDIS_KEYS);
    const [link, , leaseMs] = checkAll(
      () => new RedisLink(client, redisOptions, ['lease', SUBSCRIBE_ON_FIRST_USE]),
      () => checkName(name),
      () => checkLease(redisOptions),
      () => checkLimiterOptions(limiterOptions, options),
    );
    const { limit } = limiterOptions as ConcurrencyLimiterOptions;
    const channel = link.key(name, 'released');
    let store: RedisPermitStore | undefined = undefined;
    // A release published before the subscription was in place was missed: waiters ask again once it is.
    const wake = () => store?.released();
    const releases = new Subscription(client, channel, wake, options, wake);
    const permits = new PermitLeases(link, name, channel, leaseMs);
    store = new RedisPermitStore(link, permits, limit, leaseMs, releases);
    super({ ...(limiterOptions as ConcurrencyLimiterOptions), store });
    this.storeEvents = link.events;
    this.leaseMs = leaseMs;
  }

  /** Stops listening for releases and renewing (permits still held are released first). */
  async close(): Promise<void> {
    const store = this.store as RedisPermitStore;
    await store.giveBackAll();
    await store.releases.close();
  }
}
