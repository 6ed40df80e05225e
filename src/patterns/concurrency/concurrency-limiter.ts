import { AsyncResource } from 'node:async_hooks';
import { now } from '../../core/clock.js';
import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import { LazyAbort, eitherAbort } from '../../core/lazy-abort.js';
import { ConcurrencyLimitError, ConfigError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { toError } from '../../core/sleep.js';
import { OptionsChecker, callOptionsError } from '../../core/validate.js';
import { DeadlineQueue, type DeadlineEntry, type Segment } from '../timeout/deadline-queue.js';
import {
  resolveConcurrencyLimiterOptions,
  type ConcurrencyLimiterOptions,
  type ResolvedConcurrencyLimiterOptions,
} from './concurrency.options.js';
import { HeldPermit, LocalPermitStore, type Permit, type PermitStore } from './permit-store.js';

/** Per-call options of {@link ConcurrencyLimiter.run} and {@link ConcurrencyLimiter.acquire}. */
export interface ConcurrencyCallOptions {
  /** While the call waits for a permit, an abort removes it from the queue and rejects with the reason. */
  signal?: AbortSignal;
}

/** Events of a {@link ConcurrencyLimiter}. */
export interface ConcurrencyLimiterEvents {
  /** A call found every permit taken and waits; `pending` counts the waiters, this one included. */
  queued: { pending: number };
  /** A call was refused with `ConcurrencyLimitError`: the queue was full, or it waited `maxWait`. */
  rejected: { reason: 'queueFull' | 'maxWait'; pending: number };
}

type Work = (arg: never) => unknown;

const CALL_OPTION_KEYS = ['signal'] as const;

/*
 * A queued call. It sits in the limiter's FIFO (`older`/`newer`) and, when maxWait is set, in the shared
 * deadline queue (`previous`/`next`): every waiter of a limiter has the same maxWait, so they expire in arrival
 * order and one timer serves them all.
 */
class Waiter implements DeadlineEntry {
  older: Waiter | undefined = undefined;
  newer: Waiter | undefined = undefined;
  waiting = true;
  expiresAt = Infinity;
  previous: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  segment: Segment | undefined = undefined;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  unlinkSignal: (() => void) | undefined = undefined;
  /**
   * The caller's async context (AsyncLocalStorage stores), restored when `fn` starts: queued path only. An
   * `acquire()` needs none: its caller resumes in its own context when the permit promise resolves.
   */
  readonly resource: AsyncResource | undefined;

  constructor(
    private readonly onExpire: (waiter: Waiter) => void,
    /** The work to run once a permit is granted; undefined for `acquire()`, which gets a Permit. */
    readonly fn: Work | undefined,
    readonly arg: unknown,
    /** The caller's policy context (signal, attempt), current when `fn` starts. */
    readonly context: CallContext | undefined,
  ) {
    this.resource = fn === undefined ? undefined : new AsyncResource('dspu.ConcurrencyLimiter');
  }

  expire(): void {
    this.onExpire(this);
  }
}

/**
 * Bounds how many calls run at once; the others wait in a FIFO queue (O(1) per operation at any depth).
 * Beyond `maxQueue` waiters, or after waiting `maxWait`, a call is rejected with `ConcurrencyLimitError`.
 * A call that finds a permit free costs no timer, no `AbortController` and no `Error`.
 *
 * @example
 * ```ts
 * const db = new ConcurrencyLimiter({ limit: 10, maxQueue: 1000, maxWait: '5s' });
 * const rows = await db.run(() => pool.query(sql));
 *
 * await using permit = await db.acquire();
 * await copyTable(); // the permit is released when the block ends
 * ```
 */
export class ConcurrencyLimiter {
  /** The resolved options (`maxWait` in ms, `Infinity` when unbounded). */
  readonly options: ResolvedConcurrencyLimiterOptions;
  /** Typed events: `queued`, `rejected`. */
  readonly events = new EventEmitter<ConcurrencyLimiterEvents>();
  private readonly store: PermitStore;
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  private queueLength = 0;
  // Waiters share one maxWait, so they expire in arrival order under one timer.
  private readonly deadlines = new DeadlineQueue();

  /**
   * @param options - the limiter options, or just the limit
   * @throws ConfigError naming each invalid option
   */
  constructor(options: ConcurrencyLimiterOptions | number) {
    const checker = new OptionsChecker(typeof options === 'number' ? { limit: options } : options);
    this.options = resolveConcurrencyLimiterOptions(checker);
    checker.throwIfInvalid();
    this.store = new LocalPermitStore(this.options.limit);
  }

  /** How many calls may run at once. */
  get limit(): number {
    return this.options.limit;
  }

  /** How many calls hold a permit now. */
  get active(): number {
    return this.store.active;
  }

  /** How many calls wait for a permit. */
  get pending(): number {
    return this.queueLength;
  }

  /**
   * Runs `fn` once a permit is free and releases the permit when its promise settles. Resolves or rejects
   * like `fn`; rejects with `ConcurrencyLimitError` when the queue is full or the wait exceeds `maxWait`,
   * and with the signal's reason when `options.signal` aborts while the call waits.
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: ConcurrencyCallOptions): Promise<T> {
    if (typeof fn !== 'function')
      return Promise.reject(ConfigError.invalid('fn', 'a function', fn));
    if (options !== undefined) {
      const invalid = callOptionsError(options, CALL_OPTION_KEYS);
      if (invalid) return Promise.reject(invalid);
    }
    return this.executeWith(invokeThunk<T>, fn, options?.signal);
  }

  /**
   * Runs `fn(arg)` under a permit; the pipeline uses this form so a call costs no closure.
   * @internal
   */
  executeWith<A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    // Waiters go first: a newcomer never overtakes the queue (FIFO).
    if (this.head === undefined && this.store.tryAcquire()) return this.runHolding(fn, arg);
    return this.enqueue(fn, arg, signal) as Promise<T>;
  }

  /**
   * Waits for a permit and returns it; the caller must release it (`await using` does so).
   * Same rejections as {@link ConcurrencyLimiter.run}.
   *
   * @example
   * ```ts
   * await using permit = await limiter.acquire({ signal });
   * ```
   */
  acquire(options?: ConcurrencyCallOptions): Promise<Permit> {
    if (options !== undefined) {
      const invalid = callOptionsError(options, CALL_OPTION_KEYS);
      if (invalid) return Promise.reject(invalid);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    if (this.head === undefined && this.store.tryAcquire())
      return Promise.resolve(new HeldPermit(this.releasePermit));
    return this.enqueue(undefined, undefined, signal) as Promise<Permit>;
  }

  // Called by the shared deadline queue when a waiter has waited `maxWait`.
  private readonly expire = (waiter: Waiter): void => {
    if (!waiter.waiting) return;
    this.dequeue(waiter);
    waiter.reject(
      new ConcurrencyLimitError(
        `No permit within ${this.options.maxWait} ms (concurrency limit ${this.limit})`,
      ),
    );
    if (this.events.has('rejected'))
      this.events.emit('rejected', { reason: 'maxWait', pending: this.queueLength });
  };

  private async runHolding<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    context?: CallContext,
  ): Promise<T> {
    try {
      return await (context === undefined ? fn(arg) : runInContext(context, fn, arg));
    } finally {
      this.releasePermit();
    }
  }

  // Runs a queued call in the async context its caller had when it was queued.
  private readonly runGranted = (waiter: Waiter): Promise<unknown> =>
    this.runHolding(waiter.fn as (arg: unknown) => unknown, waiter.arg, waiter.context);

  private enqueue(fn: Work | undefined, arg: unknown, signal?: AbortSignal): Promise<unknown> {
    const { maxQueue, maxWait } = this.options;
    if (this.queueLength >= maxQueue || maxWait === 0) {
      const reason = this.queueLength >= maxQueue ? 'queueFull' : 'maxWait';
      if (this.events.has('rejected'))
        this.events.emit('rejected', { reason, pending: this.queueLength });
      return Promise.reject(
        new ConcurrencyLimitError(
          reason === 'queueFull'
            ? `Concurrency limit ${this.limit} reached and the queue is full (${maxQueue} waiting)`
            : `Concurrency limit ${this.limit} reached and maxWait is 0`,
        ),
      );
    }
    const context = activeContext();
    // An enclosing policy that gives up (a timeout) takes the waiter out at once, as the caller's signal does:
    // a waiter nobody awaits must not hold a place in the queue (nor count against maxQueue) until a permit frees.
    const either = eitherAbort(signal, context?.cancellation);
    const abort = either instanceof LazyAbort ? either.signal : either;
    if (abort?.aborted) return Promise.reject(toError(abort.reason));
    const waiter = new Waiter(this.expire, fn, arg, context);
    const promise = new Promise<unknown>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    waiter.older = this.tail;
    if (this.tail) this.tail.newer = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.queueLength++;
    if (maxWait !== Infinity) {
      waiter.expiresAt = now() + maxWait;
      this.deadlines.add(waiter);
    }
    if (abort) {
      const onAbort = () => this.leave(waiter, toError(abort.reason));
      abort.addEventListener('abort', onAbort, { once: true });
      waiter.unlinkSignal = () => abort.removeEventListener('abort', onAbort);
    }
    if (this.events.has('queued')) this.events.emit('queued', { pending: this.queueLength });
    return promise;
  }

  private dequeue(waiter: Waiter): void {
    waiter.waiting = false;
    const { older, newer } = waiter;
    if (older) older.newer = newer;
    else this.head = newer;
    if (newer) newer.older = older;
    else this.tail = older;
    waiter.older = waiter.newer = undefined;
    this.queueLength--;
    this.deadlines.remove(waiter);
    waiter.unlinkSignal?.();
  }

  private leave(waiter: Waiter, error: Error): void {
    if (!waiter.waiting) return;
    this.dequeue(waiter);
    waiter.reject(error);
  }

  private readonly releasePermit = (): void => {
    this.store.release();
    if (this.head !== undefined) this.drain();
  };

  /** Hands free permits to waiters, oldest first. */
  private drain(): void {
    while (this.head !== undefined) {
      const waiter = this.head;
      // The caller's enclosing policy (a timeout, say) gave up while it waited: its work must not start.
      const cancellation = waiter.context?.cancellation;
      if (cancellation?.aborted) {
        this.leave(waiter, toError(cancellation.reason));
        continue;
      }
      if (!this.store.tryAcquire()) return;
      this.dequeue(waiter);
      if (waiter.fn === undefined) {
        waiter.resolve(new HeldPermit(this.releasePermit));
      } else {
        waiter.resolve(waiter.resource!.runInAsyncScope(this.runGranted, undefined, waiter));
      }
    }
  }
}

function invokeThunk<T>(fn: () => T | PromiseLike<T>): T | PromiseLike<T> {
  return fn();
}
