import { clearTimer, now, setTimer, type TimerHandle } from '../../core/clock.js';
import { onAbort } from '../../core/abort-listener.js';
import { callAbort, untilAborted } from '../../core/cancellation.js';
import { activeContext, runInContext } from '../../core/context.js';
import { MAX_DURATION_MS, toMs } from '../../core/duration.js';
import {
  ConfigError,
  PolicyResetError,
  RateLimitExceededError,
  ResilienceError,
  toError,
} from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import { callThunk, type Next, type Policy } from '../../core/policy.js';
import { OptionsChecker, readCallOptions, readEntry } from '../../core/validate.js';
import {
  checkTokens,
  resolveRateLimiterOptions,
  type RateLimitCallOptions,
  type RateLimiterOptions,
  type ResolvedRateLimiterOptions,
} from './rate-limiter.options.js';
import {
  MemoryTokenBucketStore,
  type TakeResult,
  type TokenBucketSpec,
  type TokenBucketStore,
} from './token-bucket-store.js';
import { WaiterQueue, type Waiter } from './waiter-queue.js';
import { isThenable } from '../../core/thenable.js';

/** Events of a {@link RateLimiter}. */
export interface RateLimiterEvents {
  /** A call has to wait `waitMs` (estimated) for its tokens and joins the queue. */
  throttled: { tokens: number; waitMs: number };
  /** A call was refused: its wait would exceed `maxWait`, or `tryAcquire` found too few tokens. */
  rejected: { tokens: number; retryAfter: number };
}

const RESOLVED: Promise<void> = Promise.resolve();
const RUN_OPTION_KEYS = ['tokens', 'maxWait', 'signal'] as const;
const ACQUIRE_OPTION_KEYS = ['maxWait', 'signal'] as const;
const TRUE: Promise<boolean> = Promise.resolve(true);
const FALSE: Promise<boolean> = Promise.resolve(false);

/**
 * A token bucket: `rate` tokens per `per`, bursts up to `capacity`, starting full and refilling continuously.
 * Waiters are served first come, first served (a 5-token request is never starved by later 1-token ones) from
 * a linked queue with one timer for the whole queue, armed for the head.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rate: 10, per: '1s' });
 * await limiter.run(() => api.get('/data'));                 // waits for 1 token, then calls
 * await limiter.run(() => api.bulkUpload(), { tokens: 5 });  // weighted
 * if (await limiter.tryAcquire()) refreshCache();            // never waits
 * ```
 */
export class RateLimiter implements Policy<RateLimiterEvents, RateLimitCallOptions> {
  /** `'rateLimiter'`. */
  readonly kind = 'rateLimiter';
  /** The resolved options (`per` in ms, defaults applied). */
  readonly options: ResolvedRateLimiterOptions;
  /** Where the bucket lives. */
  readonly store: TokenBucketStore;
  /** Typed events: `throttled`, `rejected`. */
  readonly events = new EventEmitter<RateLimiterEvents>();

  private readonly bucket: TokenBucketSpec;
  private readonly queue = new WaiterQueue();
  // When the head's tokens will be there: the base of every later waiter's wait estimate.
  private headReadyAt = 0;
  private timer: TimerHandle | undefined = undefined;
  // An asynchronous store is answering for the head; nothing else may take meanwhile.
  private taking = false;

  /** @throws ConfigError naming each invalid option */
  constructor(options: RateLimiterOptions) {
    const checker = new OptionsChecker(options);
    this.options = resolveRateLimiterOptions(checker);
    checker.throwIfInvalid();
    const { rate, per, capacity } = this.options;
    this.bucket = Object.freeze({ capacity, msPerToken: per / rate });
    this.store =
      (checker.raw('store') as TokenBucketStore | undefined) ?? new MemoryTokenBucketStore();
  }

  /**
   * Tokens in the bucket now (fractional while refilling).
   * @throws ResilienceError when the store cannot tell synchronously (a shared store): ask the store itself
   */
  get available(): number {
    if (!this.store.peek)
      throw new ResilienceError(
        'RateLimiter.available needs a store that can peek synchronously (such as the in-memory store)',
        'ERR_NOT_SUPPORTED',
      );
    return this.store.peek(now(), this.bucket);
  }

  /** How many calls are queued waiting for tokens. */
  get pending(): number {
    return this.queue.size;
  }

  /**
   * Waits for the tokens (1 by default), then calls `fn` and passes its result on.
   * Rejects with `ConfigError` at once for an impossible token count, `RateLimitExceededError` when the wait
   * would exceed `maxWait`, or the signal's reason when it aborts (while waiting, or while `fn` runs).
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: RateLimitCallOptions): Promise<T> {
    const checked = readEntry(fn, options, RUN_OPTION_KEYS);
    return checked instanceof ConfigError
      ? Promise.reject(checked)
      : this.executeWith(callThunk<T>, fn, checked);
  }

  /**
   * Takes the tokens (waiting for them if need be), then runs `next(invocation)`: the policy contract's entry,
   * which the decorator pipeline calls with the decorator's `tokens` and `maxWait`.
   */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: RateLimitCallOptions): Promise<T> {
    const outer = activeContext();
    const tokens = options?.tokens;
    const signal = options?.signal;
    if (signal === undefined) {
      const waiting = this.admit(
        tokens === undefined ? 1 : tokens,
        options?.maxWait,
        outer?.cancellation,
      );
      if (waiting === undefined) return invoke(next, invocation);
      // Called from a timer, the caller's synchronous context is gone: restore it for currentSignal().
      return waiting.then(() => (outer ? runInContext(outer, next, invocation) : next(invocation)));
    }
    if (signal.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    const context = { cancellation: abort, attempt: outer?.attempt ?? 1 };
    const start = () => runInContext(context, next, invocation);
    const waiting = this.admit(tokens === undefined ? 1 : tokens, options?.maxWait, abort);
    const running = waiting === undefined ? invoke(start, undefined) : waiting.then(start);
    return untilAborted(running, signal, abort);
  }

  /**
   * Waits until `tokens` (default 1) are taken from the bucket. Options `maxWait` and `signal` as for
   * {@link RateLimiter.run}.
   */
  acquire(tokens = 1, given?: Omit<RateLimitCallOptions, 'tokens'>): Promise<void> {
    const options = readCallOptions(given, ACQUIRE_OPTION_KEYS);
    if (options instanceof ConfigError) return Promise.reject(options);
    const signal = options?.signal;
    const outer = activeContext();
    if (signal === undefined)
      return this.admit(tokens, options?.maxWait, outer?.cancellation) ?? RESOLVED;
    if (signal.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    const waiting = this.admit(tokens, options?.maxWait, abort);
    if (waiting !== undefined) return untilAborted(waiting, signal, abort);
    abort.release();
    return RESOLVED;
  }

  /**
   * Takes `tokens` (default 1) if the bucket holds them now and nobody is queued ahead; never waits and
   * never consumes anything when it answers false.
   */
  tryAcquire(tokens = 1): Promise<boolean> {
    // One token always fits: capacity is at least 1.
    const invalid = tokens === 1 ? undefined : checkTokens(tokens, this.options.capacity);
    if (invalid) return Promise.reject(invalid);
    if (this.queue.head !== undefined || this.taking) {
      this.refused(tokens, undefined);
      return FALSE;
    }
    let result: TakeResult | PromiseLike<TakeResult>;
    try {
      result = this.store.take(tokens, now(), this.bucket);
    } catch (error) {
      return Promise.reject(toError(error)); // a store of your own that throws: a rejection, as for a queued call
    }
    if (isThenable(result))
      return Promise.resolve(result).then(
        (r) => r.granted || this.refused(tokens, r.waitMs),
        rejectAsError,
      );
    if (result.granted) return TRUE;
    this.refused(tokens, result.waitMs);
    return FALSE;
  }

  /**
   * Returns the limiter to its initial state: every queued call is rejected with {@link PolicyResetError}, the
   * timer is let go, and a store that can (the in-memory one) is full again.
   */
  reset(): void {
    this.disarm();
    const error = new PolicyResetError('The rate limiter');
    for (let head = this.queue.head; head !== undefined; head = this.queue.head) {
      this.queue.remove(head);
      head.reject(error);
    }
    this.headReadyAt = 0;
    this.store.reset?.();
  }

  /** Takes the tokens now (undefined), or returns a promise that settles when the call may go on. */
  private admit(
    tokens: number,
    rawMaxWait: RateLimitCallOptions['maxWait'],
    abort: AbortSignal | LazyAbort | undefined,
  ): Promise<void> | undefined {
    // One token always fits: capacity is at least 1.
    const invalid = tokens === 1 ? undefined : checkTokens(tokens, this.options.capacity);
    if (invalid) return Promise.reject(invalid);
    let maxWait: number | undefined;
    if (rawMaxWait !== undefined) {
      try {
        maxWait = toMs(rawMaxWait, 'maxWait');
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (abort?.aborted) return Promise.reject(toError(abort.reason));
    if (this.queue.head !== undefined || this.taking)
      return this.enqueue(tokens, undefined, maxWait, abort);
    let result: TakeResult | PromiseLike<TakeResult>;
    try {
      result = this.store.take(tokens, now(), this.bucket, maxWait ?? Infinity);
    } catch (error) {
      return Promise.reject(toError(error)); // a store of your own that throws: a rejection, as for a queued call
    }
    if (!isThenable(result))
      return result.granted ? undefined : this.enqueue(tokens, result.waitMs, maxWait, abort);
    return Promise.resolve(result).then((r) => {
      // The caller gave up while the store answered: nothing more happens for the call (tokens granted to it
      // are spent, as a shared store has already counted them).
      if (abort?.aborted) throw toError(abort.reason);
      return r.granted ? undefined : this.enqueue(tokens, r.waitMs, maxWait, abort);
    }, rejectAsError);
  }

  /** Joins the queue, or refuses at once when the wait would exceed `maxWait`. */
  private enqueue(
    tokens: number,
    ownWait: number | undefined,
    maxWait: number | undefined,
    abort: AbortSignal | LazyAbort | undefined,
  ): Promise<void> {
    const wait = this.estimateWait(tokens, ownWait);
    if (maxWait !== undefined && wait > maxWait) {
      if (this.events.has('rejected')) this.events.emit('rejected', { tokens, retryAfter: wait });
      return Promise.reject(new RateLimitExceededError(wait));
    }
    if (this.events.has('throttled')) this.events.emit('throttled', { tokens, waitMs: wait });
    return new Promise<void>((resolve, reject) => {
      const waiter = this.queue.add(tokens, resolve, reject);
      if (abort) {
        const signal = abort instanceof LazyAbort ? abort.signal : abort;
        waiter.unlinkSignal = onAbort(signal, () => this.leave(waiter, signal.reason));
      }
      if (this.queue.head === waiter && !this.taking) {
        if (ownWait === undefined) this.pump();
        else {
          this.headReadyAt = now() + ownWait;
          this.arm(ownWait);
        }
      }
    });
  }

  /**
   * The wait of a newcomer: its own refusal's wait when the queue is empty; otherwise the head's wait plus
   * the time to refill every token queued behind the head and its own (the bucket is empty while anyone waits).
   */
  private estimateWait(tokens: number, ownWait: number | undefined): number {
    const { head } = this.queue;
    const { msPerToken } = this.bucket;
    if (head === undefined) return ownWait ?? Math.ceil(tokens * msPerToken);
    const headWait = Math.max(0, this.headReadyAt - now());
    return Math.ceil(headWait + (this.queue.tokens - head.tokens + tokens) * msPerToken - 1e-6);
  }

  /** Serves the queue from the head: grants while the store grants, then arms the one timer. */
  private readonly pump = (): void => {
    this.timer = undefined;
    for (let head = this.queue.head; head !== undefined && !this.taking; head = this.queue.head) {
      let result: TakeResult | PromiseLike<TakeResult>;
      try {
        // A queued head waits for as long as it takes.
        result = this.store.take(head.tokens, now(), this.bucket, Infinity);
      } catch (error) {
        this.queue.remove(head);
        head.reject(toError(error));
        continue;
      }
      if (isThenable(result)) {
        this.taking = true;
        const waiter = head;
        result.then(
          (r) => this.afterTake(waiter, r, undefined),
          (error: unknown) => this.afterTake(waiter, undefined, error),
        );
        return;
      }
      if (!this.serve(head, result)) return;
    }
  };

  private serve(head: Waiter, result: TakeResult): boolean {
    if (result.granted) {
      this.queue.remove(head);
      head.resolve();
      return true;
    }
    this.headReadyAt = now() + result.waitMs;
    this.arm(result.waitMs);
    return false;
  }

  private afterTake(head: Waiter, result: TakeResult | undefined, error: unknown): void {
    this.taking = false;
    // A head that left meanwhile loses what was taken for it: the bucket errs on the side of admitting less.
    if (head.queue !== undefined) {
      if (result === undefined) {
        this.queue.remove(head);
        head.reject(toError(error));
      } else if (!this.serve(head, result)) return;
    }
    if (this.timer === undefined) this.pump();
  }

  /** An aborted waiter leaves at once, wherever it stands in the queue. */
  private leave(waiter: Waiter, reason: unknown): void {
    if (waiter.queue === undefined) return;
    const wasHead = waiter === this.queue.head;
    this.queue.remove(waiter);
    waiter.reject(toError(reason));
    if (wasHead && !this.taking) {
      this.disarm();
      // The new head may need fewer tokens than the bucket already holds.
      this.pump();
    }
  }

  private arm(ms: number): void {
    this.disarm();
    // Past MAX_DURATION_MS Node fires after 1 ms instead: wake up early and re-arm rather than spin.
    this.timer = setTimer(this.pump, Math.min(MAX_DURATION_MS, Math.max(1, ms)));
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    clearTimer(this.timer);
    this.timer = undefined;
  }

  private refused(tokens: number, waitMs: number | undefined): false {
    if (this.events.has('rejected'))
      this.events.emit('rejected', { tokens, retryAfter: this.estimateWait(tokens, waitMs) });
    return false;
  }
}

function invoke<A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A): Promise<T> {
  try {
    const result = fn(arg);
    return result instanceof Promise ? (result as Promise<T>) : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

// A store that fails with a non-Error must not make dspu reject with one.
function rejectAsError(reason: unknown): never {
  throw toError(reason);
}
