import { clearTimer, setTimer } from './clock.js';
import { LazyAbort } from './lazy-abort.js';

/**
 * Waits `ms` milliseconds through the clock module. When `abort` aborts first, the timer is cleared and the
 * promise rejects with the abort reason at once.
 */
export function sleep(ms: number, abort?: AbortSignal | LazyAbort): Promise<void> {
  if (!abort) return new Promise((resolve) => setTimer(resolve, ms));
  if (abort.aborted) return Promise.reject(toError(abort.reason));
  const signal = abort instanceof LazyAbort ? abort.signal : abort;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimer(timer);
      reject(toError(signal.reason));
    };
    const timer = setTimer(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Abort reasons are usually errors; a non-Error reason is wrapped so dspu never rejects with a non-Error. */
export function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const error = new Error(`Aborted: ${String(reason)}`);
  error.name = 'AbortError';
  (error as Error & { cause: unknown }).cause = reason;
  return error;
}
