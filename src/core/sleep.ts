import { clearTimer, setTimer } from './clock.js';
import { toError } from './errors.js';
import { onAbort } from './abort-listener.js';
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
    const timer = setTimer(() => {
      stopListening();
      resolve();
    }, ms);
    const stopListening = onAbort(signal, () => {
      clearTimer(timer);
      reject(toError(signal.reason));
    });
  });
}
