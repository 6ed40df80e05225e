import { activeContext, runInContext, type CallContext } from './context.js';
import { ConfigError, toError } from './errors.js';
import { onAbort } from './abort-listener.js';
import { LazyAbort } from './lazy-abort.js';
import { isAbortSignal } from './validate.js';

/**
 * The abort of a call that a caller gave `signal`, inside the enclosing call `outer` (if any): it aborts when
 * either does. Without a signal it is the enclosing call's own abort, shared, and costs nothing; otherwise it is
 * a new {@link LazyAbort} that the policy must `release()` when its part of the call is over.
 */
export function callAbort(
  signal: AbortSignal | undefined,
  outer: CallContext | undefined,
): LazyAbort | undefined {
  const parent = outer?.cancellation;
  if (signal === undefined) return parent;
  if (parent === undefined) return new LazyAbort(signal);
  const both = new LazyAbort(parent);
  both.watch(signal, () => both.abort(signal.reason));
  return both;
}

/**
 * Settles like `promise`, or rejects at once with the signal's reason when `signal` aborts first; the promise's
 * late outcome is then absorbed (never an unhandled rejection). `abort`, the call's abort made by
 * {@link callAbort}, is aborted with the same reason at that moment (so work waiting on it stops at once), and
 * released when the call settles either way. Only a caller who introduced a signal races it: everything nested
 * sees the abort through the call context and stops at its next step.
 */
export function untilAborted<T>(
  promise: PromiseLike<T>,
  signal: AbortSignal,
  abort?: LazyAbort,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let stopListening: (() => void) | undefined;
    const aborted = () => {
      if (settled) return;
      settled = true;
      const reason = toError(signal.reason);
      abort?.abort(reason);
      reject(reason);
    };
    function finish<V>(settle: (value: V) => void, value: V): void {
      if (settled) return;
      settled = true;
      stopListening?.();
      abort?.release();
      settle(value);
    }
    if (signal.aborted) aborted();
    else stopListening = onAbort(signal, aborted);
    promise.then(
      (value) => finish(resolve, value),
      (error: unknown) => finish(reject, error),
    );
  });
}

/**
 * Runs `fn` with `signal` as the caller's signal of everything it calls: every policy of a decorated method
 * called inside ends its part at once when the signal aborts, `currentSignal()` inside the method aborts with it,
 * and the returned promise rejects at once with the signal's reason. Call the decorated method synchronously
 * inside `fn` (before any `await`), as the signal travels in the synchronous call context.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const report = withSignal(controller.signal, () => reports.build(id)); // a decorated method
 * controller.abort(); // the retry stops, the timeout's signal aborts, `report` rejects at once
 * ```
 * @throws ConfigError (synchronously) when `signal` is not an AbortSignal or `fn` is not a function
 */
export function withSignal<T>(signal: AbortSignal, fn: () => T | PromiseLike<T>): Promise<T> {
  if (!isAbortSignal(signal)) throw ConfigError.invalid('signal', 'an AbortSignal', signal);
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  if (signal.aborted) return Promise.reject(toError(signal.reason));
  const outer = activeContext();
  const abort = callAbort(signal, outer)!;
  let result: T | PromiseLike<T>;
  try {
    result = runInContext({ cancellation: abort, attempt: outer?.attempt ?? 1 }, fn, undefined);
  } catch (error) {
    abort.release();
    return Promise.reject(error);
  }
  return untilAborted(Promise.resolve(result), signal, abort);
}
