/**
 * How dspu reads time and sets timers. Globals are looked up at call time (here, and in the few hot places that
 * call `globalThis.setTimeout` themselves, like the deadline queue), so fake timers installed after dspu was
 * imported still drive every delay. Never `AbortSignal.timeout`: sinon cannot fake it.
 */

/** Opaque handle of a timer set through {@link setTimer}. */
export type TimerHandle = ReturnType<typeof globalThis.setTimeout>;

/*
 * A decorated call runs several policies before it reaches the method, each wanting the time (the limiter's
 * refill, the timeout's deadline), and a clock read can cost as much as an await. While a pipeline runs its
 * stages synchronously it holds the clock: the first read is shared by the others. The hold ends before the
 * user's method runs, so user code never sees a stale time.
 */
let held = false;
let heldTime: number | undefined;

/** Milliseconds since the epoch, from the (possibly faked) global `Date`. */
export function now(): number {
  return held ? heldNow() : Date.now(); // small enough for V8 to inline into every policy's hot path
}

function heldNow(): number {
  return (heldTime ??= Date.now());
}

/**
 * Shares one clock read among the policy stages of a call until {@link releaseClock}.
 * @internal
 */
export function holdClock(): void {
  held = true;
  heldTime = undefined;
}

/**
 * Ends a {@link holdClock}: every later `now()` reads the clock again.
 * @internal
 */
export function releaseClock(): void {
  held = false;
  heldTime = undefined;
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

/**
 * A monotonic time in milliseconds with sub-millisecond resolution, from the (possibly faked) global
 * `performance`: for measuring how long something took (a call of a fast dependency takes well under 1 ms).
 */
export function preciseNow(): number {
  return globalThis.performance.now();
}
