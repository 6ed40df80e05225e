import { clearTimer, setTimer } from './clock.js';
import { toError } from './errors.js';
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
