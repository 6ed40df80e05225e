import { callAbort, untilAborted } from '../../core/cancellation.js';
import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import {
  CircuitBreakerError,
  ConfigError,
  PolicyResetError,
  isUnlistedError,
  matchesExceptions,
  readRetryAfter,
  toError,
} from '../../core/errors.js';
import { askCallback, EventEmitter } from '../../core/events.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import {
  applyTo,
  callThunk,
  Invocation,
  type CallOptions,
  type Next,
  type Policy,
} from '../../core/policy.js';
import { sleep } from '../../core/sleep.js';
import { OptionsChecker, isInstance, readEntry } from '../../core/validate.js';
import { MAX_DURATION_MS } from '../../core/duration.js';
import type { RetryBudget } from '../retry-budget/retry-budget.js';
import { applyJitter, backoffDelay } from './backoff.js';
import {
  resolveRetryOptions,
  type ResolvedRetryOptions,
  type RetryOptions,
} from './retry.options.js';

/** Events of a {@link RetryPolicy}. */
export interface RetryEvents {
  /**
   * Try `attempt` (1-based) failed and the next one is scheduled after `delay` ms. `error` is the try's error,
   * undefined when `retryOnResult` refused its value.
   */
  retry: { attempt: number; delay: number; error: unknown };
  /**
   * The call failed after `attempts` tries: they ran out, or the error was not retryable (`attempts` may then
   * be 1). The last error is rethrown; when `retryOnResult` still refused the last value, `error` is undefined
   * and `value` is that value, which the call returns.
   */
  giveUp: { attempts: number; error: unknown; value?: unknown };
  /** The call succeeded after `attempts` tries, 1 for a first-try success: one event per successful call. */
  success: { attempts: number };
  /**
   * A callback of yours threw (or `onRetry` rejected), and the call went on as if it had not been given: a
   * throwing `retryIf` retries nothing, a throwing `retryOnResult` accepts the value, a throwing `delay` leaves
   * the wait to the strategy, and `onRetry` is skipped. The call's own outcome matters more than a broken
   * callback.
   */
  callbackError: { error: unknown };
  /**
   * Try `attempt` failed and would have been retried, but the `budget` was empty: the call gives up at once
   * (a `giveUp` event follows) with `error`, undefined when `retryOnResult` refused the try's value.
   */
  budgetExhausted: { attempt: number; error: unknown };
}

/** Per-call options of {@link RetryPolicy.execute}. */
export type RetryCallOptions = CallOptions;

/**
 * The retry engine: calls a function until it succeeds, tries run out, or an error is not retryable.
 * `retry()` and `@Retry` are built on it.
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ maxAttempts: 5, baseDelay: '200ms' });
 * const body = await policy.execute(() => fetchJson(url));
 * ```
 */
export class RetryPolicy implements Policy<RetryEvents, RetryCallOptions> {
  /** `'retry'`. */
  readonly kind = 'retry';
  /** The resolved options (durations in ms, defaults applied). */
  readonly options: ResolvedRetryOptions;
  /** Typed events: `retry`, `giveUp`, `success`, `callbackError`, `budgetExhausted`. */
  readonly events = new EventEmitter<RetryEvents>();
  // The backoff waits in progress, each an abort of its own under the call's, so reset() can end them (a shared
  // signal would collect a listener per waiting call). Only calls that failed are here.
  private readonly waits = new Set<LazyAbort>();

  /** @throws ConfigError naming each invalid option */
  constructor(options: RetryOptions<never> = {}) {
    const checker = new OptionsChecker(options);
    this.options = resolveRetryOptions(checker);
    checker.throwIfInvalid();
  }

  /**
   * Calls `fn` with retries. Resolves with its value or rejects with its last error, unchanged. When
   * `options.signal` aborts, the call rejects at once with its reason and no further try starts.
   */
  execute<T>(fn: () => T | PromiseLike<T>, options?: RetryCallOptions): Promise<T> {
    const checked = readEntry(fn, options, CALL_OPTION_KEYS);
    return checked instanceof ConfigError
      ? Promise.reject(checked)
      : this.executeWith(callThunk<T>, fn, checked);
  }

  /** Runs `next(invocation)` with retries: the policy contract's entry, which the decorator pipeline calls. */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: RetryCallOptions): Promise<T> {
    const outer = activeContext();
    const signal = options?.signal;
    if (signal === undefined) return this.start(next, invocation, outer?.cancellation);
    if (signal.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    return untilAborted(this.start(next, invocation, abort), signal, abort);
  }

  private start<I, T>(next: Next<I, T>, invocation: I, abort: LazyAbort | undefined): Promise<T> {
    if (abort?.aborted) return Promise.reject(toError(abort.reason));
    const budget = this.options.budget;
    if (budget !== undefined) budget.deposit();
    if (this.options.retryOnResult !== undefined)
      return this.loop(next, invocation, abort, 1, undefined);
    // The first try runs without an async function: the happy path is one `then` on the caller's promise.
    let first: T | PromiseLike<T>;
    try {
      first = runInContext(contextFor(abort, 1), next, invocation);
    } catch (error) {
      return this.loop(next, invocation, abort, 1, { error });
    }
    return Promise.resolve(first).then(
      this.events.has('success') ? (this.firstTrySuccess as (value: T) => T) : undefined,
      (error: unknown) => this.loop(next, invocation, abort, 1, { error }),
    );
  }

  // Attached only while someone listens for `success`: otherwise the happy path stays one bare `then`.
  private readonly firstTrySuccess = (value: unknown): unknown => {
    if (this.events.has('success')) this.events.emit('success', { attempts: 1 });
    return value;
  };

  /**
   * Runs try `attempt` (unless its `failure` is already known) and every try after it, waiting between them.
   * Once the call's abort has fired nothing more happens: no try, no callback, no event.
   */
  private async loop<I, T>(
    next: Next<I, T>,
    invocation: I,
    abort: LazyAbort | undefined,
    attempt: number,
    failure: Failure<T> | undefined,
  ): Promise<T> {
    const { maxAttempts, retryOnResult } = this.options;
    for (; ; attempt++) {
      if (failure === undefined) {
        if (abort?.aborted) throw toError(abort.reason);
        try {
          const value = await runInContext(contextFor(abort, attempt), next, invocation);
          if (abort?.aborted) throw toError(abort.reason);
          if (
            retryOnResult === undefined ||
            !askCallback(retryOnResult, value, this.callbackFailed)
          ) {
            if (this.events.has('success')) this.events.emit('success', { attempts: attempt });
            return value;
          }
          failure = { value };
        } catch (error) {
          failure = { error };
        }
      }
      if (abort?.aborted) throw toError(abort.reason);
      const error = 'error' in failure ? failure.error : undefined;
      if (attempt >= maxAttempts || ('error' in failure && !this.isRetryable(error)))
        return this.giveUp(attempt, failure);
      if (this.options.budget !== undefined) {
        const granted = await this.withdraw(this.options.budget);
        if (abort?.aborted) throw toError(abort.reason);
        if (!granted) {
          if (this.events.has('budgetExhausted'))
            this.events.emit('budgetExhausted', { attempt, error });
          return this.giveUp(attempt, failure);
        }
      }
      const delay = this.delayFor(attempt, error);
      await this.notify(attempt, error);
      if (abort?.aborted) throw toError(abort.reason);
      if (this.events.has('retry')) this.events.emit('retry', { attempt, delay, error });
      await this.backoff(delay, abort);
      failure = undefined;
    }
  }

  /**
   * Ends every backoff wait in progress: those calls reject with {@link PolicyResetError} and make no further
   * try. A retry policy keeps no other state (a budget it draws on is reset on its own).
   */
  reset(): void {
    const error = new PolicyResetError('The retry policy');
    for (const wait of this.waits) wait.abort(error);
    this.waits.clear();
  }

  /** Waits `delay` before the next try; ends early when the call's abort fires or the policy is reset. */
  private async backoff(delay: number, abort: LazyAbort | undefined): Promise<void> {
    const wait = new LazyAbort(abort);
    this.waits.add(wait);
    try {
      await sleep(delay, wait);
    } finally {
      this.waits.delete(wait);
      wait.release();
    }
  }

  /** Ends the call after `attempts` tries: rethrows the last error, or returns the value still refused. */
  private giveUp<T>(attempts: number, failure: Failure<T>): T {
    if ('error' in failure) {
      if (this.events.has('giveUp')) this.events.emit('giveUp', { attempts, error: failure.error });
      throw failure.error;
    }
    if (this.events.has('giveUp'))
      this.events.emit('giveUp', { attempts, error: undefined, value: failure.value });
    return failure.value;
  }

  /** One retry from the budget; a store that cannot answer (a fleet's store, failing closed) grants none. */
  private withdraw(budget: RetryBudget): boolean | Promise<boolean> {
    let answer: boolean | PromiseLike<boolean>;
    try {
      answer = budget.withdraw();
    } catch {
      return false;
    }
    if (typeof answer === 'boolean') return answer;
    return Promise.resolve(answer).then(
      (granted) => granted === true,
      () => false,
    );
  }

  /** Whether `error` may be retried under these options. */
  isRetryable(error: unknown): boolean {
    const { exceptions, retryIf } = this.options;
    // Retrying into an open circuit or a configuration mistake only wastes time, unless asked for by name.
    if (
      isUnlistedError(error, CircuitBreakerError, exceptions) ||
      !matchesExceptions(error, exceptions)
    )
      return false;
    // A throwing retryIf retries nothing: the original error is rethrown.
    return retryIf === undefined || askCallback(retryIf, error, this.callbackFailed) === true;
  }

  /** The wait before try `attempt + 1` after `error` (undefined for a failed result). */
  delayFor(attempt: number, error: unknown): number {
    let custom: unknown;
    try {
      custom = this.options.delay?.(attempt, error);
    } catch (callbackError) {
      this.callbackFailed(callbackError);
    }
    let delay =
      typeof custom === 'number' && custom >= 0 && custom !== Infinity
        ? Math.min(custom, this.options.maxDelay)
        : applyJitter(backoffDelay(this.options, attempt), this.options.jitter);
    // A server that says when to come back is honoured even past maxDelay.
    const retryAfter = readRetryAfter(error);
    // Past the largest timer delay, setTimeout would fire after 1 ms: wait the longest it can instead.
    if (typeof retryAfter === 'number' && retryAfter > delay)
      delay = Math.min(retryAfter, MAX_DURATION_MS);
    return delay;
  }

  private async notify(attempt: number, error: unknown): Promise<void> {
    const { onRetry } = this.options;
    if (!onRetry) return;
    try {
      await onRetry(attempt, error);
    } catch (callbackError) {
      // The original error matters more than a broken logging callback: keep retrying, but say so.
      this.callbackFailed(callbackError);
    }
  }

  private readonly callbackFailed = (error: unknown): void => {
    if (this.events.has('callbackError')) this.events.emit('callbackError', { error });
  };
}

const CALL_OPTION_KEYS = ['signal'] as const;

/** How a try failed: with an error, or with a value `retryOnResult` refused. */
type Failure<T> = { readonly error: unknown } | { readonly value: T };

// The context of a first try that nothing can abort, shared: the happy path allocates none.
const FIRST_TRY: CallContext = Object.freeze({ cancellation: undefined, attempt: 1 });

function contextFor(abort: LazyAbort | undefined, attempt: number): CallContext {
  if (abort === undefined && attempt === 1) return FIRST_TRY;
  return { cancellation: abort, attempt };
}

/**
 * A function with the same parameters as `F`, returning a promise of its awaited result.
 * @typeParam F - the wrapped function's type
 */
export type Retried<F extends (...args: never[]) => unknown> = (
  this: ThisParameterType<F>,
  ...args: Parameters<F>
) => Promise<Awaited<ReturnType<F>>>;

/**
 * Wraps `fn` so each call is retried per `options`. The wrapper keeps `fn`'s parameters and `this`.
 *
 * @example
 * ```ts
 * const fetchData = retry(async (url: string) => http.get(url), { maxAttempts: 3 });
 * await fetchData('https://example.com');
 * ```
 * @throws ConfigError at once when an option is invalid
 * @typeParam F - the wrapped function's type
 */
export function retry<F extends (...args: never[]) => unknown>(
  fn: F,
  options: RetryOptions<Awaited<ReturnType<F>>> | RetryPolicy = {},
): Retried<F> {
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  const policy = isInstance(options, RetryPolicy) ? options : new RetryPolicy(options);
  const call = applyTo(fn);
  return function retried(this: ThisParameterType<F>, ...args: Parameters<F>) {
    return policy.executeWith(call, new Invocation(this, args)) as Promise<Awaited<ReturnType<F>>>;
  };
}
