/**
 * Abort listeners on signals dspu did not make (a caller's, an enclosing call's): one listener per signal, however
 * many calls wait on it. A request's signal shared by many parallel calls would otherwise collect a listener per
 * call, and past ten Node prints a MaxListenersExceededWarning for correct code. Callbacks run in the order they
 * were added, synchronously while the signal aborts, like the listeners they stand for.
 */

interface Listeners {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const bySignal = new WeakMap<AbortSignal, Listeners>();

/**
 * Calls `callback` once when `signal` aborts (never when it has already aborted, as `addEventListener` would not).
 * Returns the function that stops listening; calling it again, or after the abort, does nothing.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let entry = bySignal.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      bySignal.delete(signal);
      for (const each of callbacks) each();
      callbacks.clear();
    };
    entry = { callbacks, listener };
    bySignal.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = entry;
  // A wrapper of its own: the same callback added twice is two subscriptions, each removed on its own.
  const subscription = () => callback();
  callbacks.add(subscription);
  return () => {
    if (!callbacks.delete(subscription) || callbacks.size > 0) return;
    if (bySignal.get(signal)?.callbacks === callbacks) bySignal.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
