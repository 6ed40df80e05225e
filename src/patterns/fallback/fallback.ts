import { callAbort, untilAborted } from '../../core/cancellation.js';
import { activeContext, runInContext } from '../../core/context.js';
import { ConfigError, matchesExceptions, toError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import type { LazyAbort } from '../../core/lazy-abort.js';
import {
  applyTo,
  Invocation,
  type CallOptions,
  type Next,
  type Policy,
} from '../../core/policy.js';
import { OptionsChecker, copyArray, readCallOptions } from '../../core/validate.js';
import {
  resolveFallbackOptions,
  type FallbackOptions,
  type ResolvedFallbackOptions,
} from './fallback.options.js';

/** What a fallback runs instead: it receives the error, then the original call's arguments. */
export type FallbackHandler<Args extends readonly unknown[], R> = (
  error: unknown,
  ...args: Args
) => R | PromiseLike<R>;

/** Events of a {@link FallbackPolicy}. */
export interface FallbackEvents {
  /** A call failed with `error` and the handler was called in its place. */
  fallback: { error: unknown };
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** Per-call options of {@link FallbackPolicy.execute}. */
export type FallbackCallOptions = CallOptions;

const NO_CALL = new Invocation(undefined, NO_ARGS);

/**
 * The fallback engine: runs a function and, when it fails with a matching error, answers with the handler's
 * result instead. `fallback()` and `@Fallback` are built on it. An abort of the caller's signal is not a
 * failure to answer: the call rejects with the signal's reason and the handler does not run.
 *
 * @example
 * ```ts
 * const cached = new FallbackPolicy((error, id: number) => cache.get(id), {
 *   exceptions: [CircuitBreakerError],
 * });
 * const user = await cached.execute(() => breaker.protect(() => api.getUser(7)), [7]);
 * ```
 */
export class FallbackPolicy<R = unknown> implements Policy<FallbackEvents, FallbackCallOptions> {
  /** `'fallback'`. */
  readonly kind = 'fallback';
  /** The resolved options. */
  readonly options: ResolvedFallbackOptions;
  /** Typed events: `fallback`. */
  readonly events = new EventEmitter<FallbackEvents>();

  /**
   * @param handler - called with `(error, ...args)` when a call fails with a matching error; may be async
   * @throws ConfigError when the handler is not a function or an option is invalid
   */
  constructor(
    readonly handler: FallbackHandler<never, R>,
    options: FallbackOptions = {},
  ) {
    const checker = new OptionsChecker(options);
    if (typeof handler !== 'function') checker.fail('handler', 'a function', handler);
    this.options = resolveFallbackOptions(checker);
    checker.throwIfInvalid();
  }

  /** Calls `fn`; on a matching error resolves with `handler(error, ...args)` instead. */
  execute<T>(
    fn: () => T | PromiseLike<T>,
    args: readonly unknown[] = NO_ARGS,
    given?: FallbackCallOptions,
  ): Promise<T | R> {
    // Checked here: the TypeError of calling a non-function would otherwise be answered by the handler.
    if (typeof fn !== 'function')
      return Promise.reject(ConfigError.invalid('fn', 'a function', fn));
    // Copied, so the handler gets the arguments that were checked, and a Proxy cannot fail inside the call.
    const argList = args === NO_ARGS ? NO_ARGS : copyArray(args);
    if (argList === undefined)
      return Promise.reject(ConfigError.invalid('args', 'an array of arguments', args));
    const options = readCallOptions(given, CALL_OPTION_KEYS);
    if (options instanceof ConfigError) return Promise.reject(options);
    return this.executeWith<Invocation, T | R>(
      () => fn(),
      new Invocation(undefined, argList),
      options,
    );
  }

  /**
   * Runs `next(invocation)`; on a matching error answers with the handler, called with the invocation's `this`
   * and `(error, ...args)`: the policy contract's entry, which the decorator pipeline calls.
   */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: FallbackCallOptions): Promise<T> {
    const signal = options?.signal;
    const outer = activeContext();
    if (signal === undefined) return this.answer(next, invocation, outer?.cancellation);
    if (signal.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    const context = { cancellation: abort, attempt: outer?.attempt ?? 1 };
    const inContext = (call: I) => runInContext(context, next, call);
    return untilAborted(this.answer(inContext, invocation, abort), signal, abort);
  }

  // The handler answers in the call's place, so its value is taken as the call's own (R is T, to the caller).
  private async answer<I, T>(
    next: Next<I, T>,
    invocation: I,
    abort: LazyAbort | undefined,
  ): Promise<T> {
    try {
      return await next(invocation);
    } catch (error) {
      if (abort?.aborted) throw toError(abort.reason);
      if (!this.handles(error)) throw error;
      if (this.events.has('fallback')) this.events.emit('fallback', { error });
      const call = invocation instanceof Invocation ? invocation : NO_CALL;
      return await (this.handler as (...all: unknown[]) => T | PromiseLike<T>).call(
        call.target,
        error,
        ...call.args,
      );
    }
  }

  /** Whether `error` is one the handler should answer. */
  handles(error: unknown): boolean {
    // A mistake in the code (a ConfigError) is not hidden behind a fallback value, unless `exceptions` names it.
    return matchesExceptions(error, this.options.exceptions);
  }
}

const CALL_OPTION_KEYS = ['signal'] as const;

/**
 * Wraps `fn` so a failing call answers with `handler(error, ...args)` instead: graceful degradation without
 * try/catch. The wrapper keeps `fn`'s parameters and `this`; errors outside `exceptions` pass through.
 *
 * @example
 * ```ts
 * const getUser = fallback(
 *   (id: number) => breaker.protect(() => api.getUser(id)),
 *   (error, id) => cache.get(id) ?? defaultUser,
 *   { exceptions: [CircuitBreakerError] },
 * );
 * ```
 * @throws ConfigError at once when `fn` or `handler` is not a function or an option is invalid
 * @typeParam F - the wrapped function's type
 */
export function fallback<F extends (...args: never[]) => unknown, R = Awaited<ReturnType<F>>>(
  fn: F,
  handler: FallbackHandler<Parameters<F>, R>,
  options: FallbackOptions = {},
): (this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>> | R> {
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  const policy = new FallbackPolicy<R>(handler, options);
  const call = applyTo(fn);
  return function withFallback(this: ThisParameterType<F>, ...args: Parameters<F>) {
    return policy.executeWith(call, new Invocation(this, args)) as Promise<
      Awaited<ReturnType<F>> | R
    >;
  };
}
