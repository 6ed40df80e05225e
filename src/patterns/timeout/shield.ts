import { runInContext, type CallContext } from '../../core/context.js';
import { ConfigError, TimeoutError } from '../../core/errors.js';
import { type Duration } from '../../core/duration.js';
import { OptionsChecker } from '../../core/validate.js';
import { clearTimer, setTimer } from '../../core/clock.js';
import { isThenable } from '../../core/thenable.js';

const shielded = new Set<PromiseLike<unknown>>();
// Inside a shield, currentSignal() is a signal that never aborts: the work is detached from any deadline.
const DETACHED: CallContext = { cancellation: undefined, attempt: 1 };

/**
 * Runs work detached from the current signal: an enclosing timeout does not abort it, so it runs to
 * completion. The work is tracked so {@link drainShielded} can await it at shutdown; its errors reach the
 * returned promise and never the process as an unhandled rejection.
 *
 * @example
 * ```ts
 * await runWithTimeout(async () => {
 *   await writeRecord();
 *   await runWithShield(() => flushAuditLog()); // completes even if the timeout fires meanwhile
 * }, '5s');
 * ```
 */
export function runWithShield<T>(work: (() => T | PromiseLike<T>) | PromiseLike<T>): Promise<T> {
  let promise: Promise<T>;
  if (typeof work === 'function') {
    try {
      promise = Promise.resolve(runInContext(DETACHED, work, undefined));
    } catch (error) {
      promise = Promise.reject(error);
    }
  } else if (readableThenable(work)) {
    promise = Promise.resolve(work);
  } else {
    return Promise.reject(ConfigError.invalid('work', 'a function or a promise', work));
  }
  shielded.add(promise);
  // This handler both untracks and marks the promise handled: a caller that never awaits it loses nothing.
  const untrack = () => void shielded.delete(promise);
  promise.then(untrack, untrack);
  return promise;
}

// A revoked Proxy or a `then` getter that throws is no promise: refused like any other non-promise, not thrown.
function readableThenable(work: unknown): work is PromiseLike<unknown> {
  try {
    return isThenable(work);
  } catch {
    return false;
  }
}

/** How many shielded operations are still running. */
export function shieldedCount(): number {
  return shielded.size;
}

/**
 * Waits until every shielded operation has settled (including ones started meanwhile). Call it at shutdown.
 * With `timeout`, rejects with {@link TimeoutError} if work is still running after it.
 */
export async function drainShielded(options: { timeout?: Duration } = {}): Promise<void> {
  const checker = new OptionsChecker(options).onlyKnown(['timeout']);
  const limit = checker.raw('timeout') === undefined ? undefined : checker.duration('timeout', 0);
  checker.throwIfInvalid();
  let timer: ReturnType<typeof setTimer> | undefined;
  const expired =
    limit === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          timer = setTimer(
            () => reject(new TimeoutError(limit, `Shielded work still running after ${limit} ms`)),
            limit,
          );
        });
  expired?.catch(() => undefined);
  try {
    while (shielded.size > 0) {
      const all = Promise.allSettled([...shielded]);
      await (expired ? Promise.race([all, expired]) : all);
    }
  } finally {
    if (timer !== undefined) clearTimer(timer);
  }
}
