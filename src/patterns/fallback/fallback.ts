import { ConfigError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { OptionsChecker } from '../../core/validate.js';
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

/**
 * The fallback engine: runs a function and, when it fails with a matching error, answers with the handler's
 * result instead. `fallback()` and `@Fallback` are built on it.
 *
 * @example
 * ```ts
 * const cached = new FallbackPolicy((error, id: number) => cache.get(id), {
 *   exceptions: [CircuitBreakerError],
 * });
 * const user = await cached.execute(() => breaker.protect(() => api.getUser(7)), [7]);
 * ```
 */
export class FallbackPolicy<R = unknown> {
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
  execute<T>(fn: () => T | PromiseLike<T>, args: readonly unknown[] = NO_ARGS): Promise<T | R> {
    // Checked here: the TypeError of calling a non-function would otherwise be answered by the handler.
    if (typeof fn !== 'function')
      return Promise.reject(ConfigError.invalid('fn', 'a function', fn));
    if (!Array.isArray(args))
      return Promise.reject(ConfigError.invalid('args', 'an array of arguments', args));
    return this.executeWith(invokeThunk<T>, fn, args);
  }

  /**
   * Calls `fn(arg)`; on a matching error calls the handler with `this` = `self` and `(error, ...args)`.
   * The pipeline uses this form so a call costs no closure.
   * @internal
   */
  async executeWith<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    args: readonly unknown[] = NO_ARGS,
    self?: unknown,
  ): Promise<T | R> {
    try {
      return await fn(arg);
    } catch (error) {
      if (!this.handles(error)) throw error;
      if (this.events.has('fallback')) this.events.emit('fallback', { error });
      return await (this.handler as (...all: unknown[]) => R | PromiseLike<R>).call(
        self,
        error,
        ...args,
      );
    }
  }

  /** Whether `error` is one the handler should answer. */
  handles(error: unknown): boolean {
    const { exceptions } = this.options;
    return exceptions === undefined || exceptions.some((c) => error instanceof c);
  }
}

function invokeThunk<T>(fn: () => T | PromiseLike<T>): T | PromiseLike<T> {
  return fn();
}

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
  return function withFallback(this: ThisParameterType<F>, ...args: Parameters<F>) {
    return policy.executeWith(applyCall<F>, { fn, self: this, args }, args, this) as Promise<
      Awaited<ReturnType<F>> | R
    >;
  };
}

interface BoundCall<F extends (...args: never[]) => unknown> {
  fn: F;
  self: unknown;
  args: Parameters<F>;
}

function applyCall<F extends (...args: never[]) => unknown>(call: BoundCall<F>): unknown {
  return call.fn.apply(call.self, call.args);
}
