import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  bindContext,
  ConcurrencyLimiter,
  ConcurrencyLimitError,
  ConfigError,
  EventEmitter,
  toMs,
  type ConcurrencyCallOptions,
  type ConcurrencyLimiterOptions,
  type Duration,
  type Permit,
} from '../index.js';
import { checkName, RedisLink, type RedisClient, type RedisStoreEvents } from './redis-link.js';
import type { RedisStoreOptions } from './redis-link.js';
import { LeasedPermit, splitOptions, toError } from './leased-permit.js';
import { PermitLeases } from './permit-leases.js';
import { Subscription } from './subscription.js';

/** Options of {@link RedisConcurrencyLimiter}: the limiter's own, plus where and how permits are shared. */
export interface RedisConcurrencyLimiterOptions
  extends ConcurrencyLimiterOptions, RedisStoreOptions {
  /**
   * How long a permit stays taken without renewal: the permit of a holder that crashed comes back after this.
   * Held permits are renewed every third of it. Default `'10s'`.
   */
  lease?: Duration;
}

type Work = (arg: never) => unknown;

interface Waiter {
  readonly fn: Work | undefined;
  readonly arg: unknown;
  readonly resource: AsyncResource;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  unlinkSignal: (() => void) | undefined;
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
  private readonly link: RedisLink;
  private readonly permits: PermitLeases;
  private readonly channel: string;
  private readonly releases: Subscription;
  private readonly waiters = new Set<Waiter>();
  private readonly held = new Set<string>();
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private trying = false;

  /**
   * @param client - an ioredis client; a duplicate of it listens for releases
   * @param name - processes using the same name share one set of permits
   * @throws ConfigError naming each invalid option
   */
  constructor(client: RedisClient, name: string, options: RedisConcurrencyLimiterOptions) {
    super(splitOptions(options ?? {})[0]);
    const redisOptions = splitOptions(options)[1] as RedisConcurrencyLimiterOptions;
    this.link = new RedisLink(client, redisOptions, ['lease']);
    this.storeEvents = this.link.events;
    this.channel = this.link.key(checkName(name), 'released');
    this.leaseMs = toMs(redisOptions.lease ?? 10_000, 'lease');
    if (this.leaseMs < 30)
      throw ConfigError.invalid('lease', 'a duration of at least 30 ms', redisOptions.lease);
    this.permits = new PermitLeases(this.link, name, this.channel, this.leaseMs);
    this.releases = new Subscription(client, this.channel, this.pump, options);
  }

  /** Permits this process holds now (in Redis, or in its local fallback). */
  override get active(): number {
    return this.held.size + super.active;
  }

  /** Calls of this process waiting for a permit. */
  override get pending(): number {
    return this.waiters.size + super.pending;
  }

  /** @internal */
  override executeWith<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.admit(fn, arg, signal) as Promise<T>;
  }

  /** Waits for a fleet-wide permit and returns it; the caller must release it (`await using` does so). */
  override acquire(options?: ConcurrencyCallOptions): Promise<Permit> {
    return this.admit(undefined, undefined, options?.signal) as Promise<Permit>;
  }

  /** Stops listening for releases and renewing (permits still held are released first). */
  async close(): Promise<void> {
    await Promise.all([...this.held].map((id) => this.giveBack(id)));
    await this.releases.close();
  }

  private admit(work: Work | undefined, arg: unknown, signal?: AbortSignal): Promise<unknown> {
    this.releases.open();
    // The work may start after a round trip: keep the caller's context (currentSignal()) for it.
    const fn = work && bindContext(work);
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    if (!this.link.tryRedis()) return this.degraded(fn, arg, signal, undefined);
    if (this.waiters.size > 0) return this.queueUp(fn, arg, signal);
    const id = randomUUID();
    return this.take(id).then(
      (wait) => (wait === 0 ? this.start(id, fn, arg) : this.queueUp(fn, arg, signal, wait)),
      (error: unknown) => this.degraded(fn, arg, signal, error),
    );
  }

  /** Resolves 0 when permit `id` was taken, else the ms until the earliest lease ends. */
  private take(id: string): Promise<number> {
    return this.permits.take(id, this.limit);
  }

  /** Runs `fn` holding permit `id`, or hands the permit to an `acquire()` caller. */
  private start(id: string, fn: Work | undefined, arg: unknown): Promise<unknown> {
    this.held.add(id);
    this.renewTimer ??= setInterval(this.renew, Math.floor(this.leaseMs / 3));
    this.renewTimer.unref?.();
    if (fn === undefined) return Promise.resolve(new LeasedPermit(() => this.giveBack(id)));
    let result: unknown;
    try {
      result = fn(arg as never);
    } catch (error) {
      void this.giveBack(id);
      return Promise.reject(error);
    }
    const done = () => this.giveBack(id);
    return Promise.resolve(result).finally(done);
  }

  private giveBack(id: string): Promise<void> {
    if (!this.held.delete(id)) return Promise.resolve();
    if (this.held.size === 0 && this.renewTimer !== undefined) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    return this.permits.giveBack(id).finally(() => this.pump());
  }

  private readonly renew = (): void => {
    if (this.held.size > 0) this.permits.renew([...this.held]);
  };

  private queueUp(
    fn: Work | undefined,
    arg: unknown,
    signal: AbortSignal | undefined,
    wait?: number,
  ): Promise<unknown> {
    const { maxQueue, maxWait } = this.options;
    if (this.waiters.size >= maxQueue || maxWait === 0) {
      const reason = this.waiters.size >= maxQueue ? 'queueFull' : 'maxWait';
      if (this.events.has('rejected'))
        this.events.emit('rejected', { reason, pending: this.waiters.size });
      return Promise.reject(
        new ConcurrencyLimitError(
          `Concurrency limit ${this.limit} reached (fleet-wide) and ${reason === 'queueFull' ? `the queue is full (${maxQueue} waiting)` : 'maxWait is 0'}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        fn,
        arg,
        resource: new AsyncResource('dspu.RedisConcurrencyLimiter'),
        resolve,
        reject,
        timer: undefined,
        unlinkSignal: undefined,
      };
      this.waiters.add(waiter);
      if (maxWait !== Infinity)
        waiter.timer = setTimeout(() => {
          this.abandon(waiter, new ConcurrencyLimitError(`No permit within ${maxWait} ms`));
          if (this.events.has('rejected'))
            this.events.emit('rejected', { reason: 'maxWait', pending: this.waiters.size });
        }, maxWait);
      if (signal) {
        const onAbort = () => this.abandon(waiter, toError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.unlinkSignal = () => signal.removeEventListener('abort', onAbort);
      }
      if (this.events.has('queued')) this.events.emit('queued', { pending: this.waiters.size });
      if (wait === undefined) this.pump();
      else this.wakeIn(wait);
    });
  }

  private abandon(waiter: Waiter, error: Error): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.unlinkSignal?.();
    waiter.reject(error);
  }

  /** Asks Redis for the head waiter's permit; one question at a time per process. */
  private readonly pump = (): void => {
    if (this.trying || this.waiters.size === 0) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.trying = true;
    const id = randomUUID();
    this.take(id).then(
      (wait) => {
        this.trying = false;
        const [head] = this.waiters;
        if (wait !== 0) return this.wakeIn(wait);
        if (head === undefined) {
          // Everyone left while Redis answered: hand the permit straight back.
          this.held.add(id);
          return void this.giveBack(id);
        }
        this.waiters.delete(head);
        clearTimeout(head.timer);
        head.unlinkSignal?.();
        head.resolve(head.resource.runInAsyncScope(() => this.start(id, head.fn, head.arg)));
        this.pump();
      },
      (error: unknown) => {
        this.trying = false;
        // Redis failed: every waiter follows onStoreError.
        for (const waiter of [...this.waiters]) {
          this.waiters.delete(waiter);
          clearTimeout(waiter.timer);
          waiter.unlinkSignal?.();
          waiter.resolve(this.degraded(waiter.fn, waiter.arg, undefined, error));
        }
      },
    );
  };

  // No release message may come (the holder crashed): look again when the earliest lease ends.
  private wakeIn(ms: number): void {
    if (this.wakeTimer !== undefined || this.trying) return;
    this.wakeTimer = setTimeout(this.pump, Math.min(ms, this.leaseMs) + 1);
    this.wakeTimer.unref?.();
  }

  private degraded(
    fn: Work | undefined,
    arg: unknown,
    signal: AbortSignal | undefined,
    error: unknown,
  ): Promise<unknown> {
    if (this.link.mode === 'local')
      return fn === undefined
        ? super.acquire({ signal })
        : super.executeWith(fn, arg as never, signal);
    if (this.link.mode === 'fail-closed')
      return Promise.reject(error instanceof Error ? error : this.link.unavailable());
    if (fn === undefined) return Promise.resolve(new LeasedPermit(() => Promise.resolve()));
    try {
      return Promise.resolve(fn(arg as never));
    } catch (failure) {
      return Promise.reject(failure);
    }
  }
}
