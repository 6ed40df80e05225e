/**
 * The one place dspu reads time and sets timers. Globals are looked up at call time, so `sinon` fake timers
 * installed after dspu was imported still drive every delay. Never `AbortSignal.timeout`: sinon cannot fake it.
 */

/** Opaque handle of a timer set through {@link setTimer}. */
export type TimerHandle = ReturnType<typeof globalThis.setTimeout>;

/** Milliseconds since the epoch, from the (possibly faked) global `Date`. */
export function now(): number {
  return Date.now();
}

/** Calls `fn` after `ms` milliseconds. */
export function setTimer(fn: () => void, ms: number): TimerHandle {
  return globalThis.setTimeout(fn, ms);
}

/** Cancels a timer set through {@link setTimer}. */
export function clearTimer(handle: TimerHandle): void {
  globalThis.clearTimeout(handle);
}

/** Lets the process exit even if this timer is pending (no-op where timers have no `unref`). */
export function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void }).unref?.();
}
