import { now } from '../../core/clock.js';
import {
  activeContext,
  isOutsideContext,
  runInContext,
  setOutermostContext,
  type CallContext,
} from '../../core/context.js';
import { type Duration, toMs } from '../../core/duration.js';
import { ConfigError, TimeoutError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { LazyAbort, eitherAbort } from '../../core/lazy-abort.js';
import { toError } from '../../core/sleep.js';
import { OptionsChecker, callOptionsError } from '../../core/validate.js';
import { DeadlineQueue, type DeadlineEntry, type Segment } from './deadline-queue.js';
import { isThenable } from '../../core/thenable.js';

/** Work a timeout can bound: a function given the call's signal, or a promise that is already running. */
export type TimeoutWork<T> = ((signal: AbortSignal) => T | PromiseLike<T>) | PromiseLike<T>;

/** Options of {@link Timeout}. */
export interface TimeoutOptions {
  /** The time budget. */
  timeout: Duration;
}

/** Per-call options of {@link runWithTimeout} and `Timeout.run`. */
export interface TimeoutCallOptions {
  /** An outer signal: when it aborts, the call's signal aborts and the call rejects with its reason. */
  signal?: AbortSignal;
}

/** Events of a {@link Timeout}. */
export interface TimeoutEvents {
  /** A call exceeded its budget. */
  timeout: { timeout: number };
}

/*
 * One object per call serves as the call's lazy abort, its context (for currentSignal()) and its entry in the
 * shared deadline queue: no AbortController, no Error, no timer and no closure beyond the promise executor and
 * the two settle callbacks on the happy path. Measured on Node 20, three things cost more than they look: a
 * field, about 3 ns per call; a write of a young object into a long-lived one (the write barrier), about 10 ns;
 * and class-field declarations, which V8 defines one at a time after super() returns (12 ns here). So the object
 * has few fields, assigned in the constructor, and the hot path writes it into a long-lived object only once:
 * as the current context, which must be findable from anywhere.
 */
class Deadline<T> extends LazyAbort implements DeadlineEntry, CallContext {
  declare readonly owner: Timeout;
  declare readonly expiresAt: number;
  declare readonly attempt: number;
  declare previous: DeadlineEntry | undefined;
  declare next: DeadlineEntry | undefined;
  declare segment: Segment | undefined;
  declare resolve: (value: T | PromiseLike<T>) => void;
  declare reject: (reason: unknown) => void;

  constructor(owner: Timeout, attempt: number, parent: LazyAbort | AbortSignal | undefined) {
    super(parent);
    this.owner = owner;
    this.expiresAt = now() + owner.timeout;
    this.attempt = attempt;
    this.previous = this.next = this.segment = undefined;
    this.resolve = this.reject = ignore;
  }

  get cancellation(): LazyAbort {
    return this;
  }

  /** The budget is spent: called once, by the queue, which has just removed this call. */
  expire(): void {
    const error = new TimeoutError(this.owner.timeout);
    this.reject(error);
    this.abort(error); // which also lets go of the caller's signal
    if (this.owner.events.has('timeout'))
      this.owner.events.emit('timeout', { timeout: this.owner.timeout });
  }

  /** Ends a call still in flight (its work settled, or its caller gave up); false if it had ended already. */
  finish(): boolean {
    if (!this.owner.deadlines.remove(this)) return false;
    this.release();
    return true;
  }

  onValue(value: T): void {
    if (this.finish()) this.resolve(value);
  }

  onError(error: unknown): void {
    if (this.finish()) this.reject(error);
  }
}

function ignore(): void {}

/**
 * A time budget for async work. At the deadline the returned promise rejects with {@link TimeoutError} and the
 * call's signal aborts with that error as its reason; the work's late result or error is absorbed.
 * Cancellation is cooperative: pass the signal on (`fetch(url, { signal })`) or read `currentSignal()`.
 *
 * @example
 * ```ts
 * const budget = new Timeout('10s');
 * await budget.run(async (signal) => {
 *   await fetch(url, { signal });
 *   await runWithShield(() => criticalCleanup()); // not aborted at the deadline
 * });
 * ```
 */
export class Timeout {
  /** The budget in milliseconds. */
  readonly timeout: number;
  /** Typed events: `timeout`. */
  readonly events = new EventEmitter<TimeoutEvents>();
  /**
   * The calls in flight, expiring in arrival order under one shared timer.
   * @internal
   */
  readonly deadlines = new DeadlineQueue();

  /** @throws ConfigError when the duration is invalid */
  constructor(timeout: Duration | TimeoutOptions) {
    if (typeof timeout === 'object' && timeout !== null) {
      const checker = new OptionsChecker(timeout).onlyKnown(['timeout']);
      if (checker.raw('timeout') === undefined) checker.fail('timeout', 'a duration');
      this.timeout = checker.duration('timeout', 0);
      checker.throwIfInvalid();
    } else {
      this.timeout = toMs(timeout, 'timeout');
    }
  }

  /** Runs `work` within the budget. A function receives the call's `AbortSignal` (created only if it takes one). */
  run<T>(work: TimeoutWork<T>, options?: TimeoutCallOptions): Promise<T> {
    return isPlainCall(work, options) ? runOutermost(this, work) : this.runChecked(work, options);
  }

  private runChecked<T>(work: TimeoutWork<T>, options?: TimeoutCallOptions): Promise<T> {
    // A promise runs already: if the call ends without awaiting it (bad options, an aborted signal), its
    // failure must still not become an unhandled rejection.
    if (work instanceof Promise) work.catch(ignore);
    if (options !== undefined) {
      const invalid = callOptionsError(options, CALL_OPTION_KEYS);
      if (invalid) return Promise.reject(invalid);
    }
    if (typeof work === 'function')
      return this.executeWith(starterFor(work), work, options?.signal);
    if (!isThenable(work))
      return Promise.reject(ConfigError.invalid('work', 'a function or a promise', work));
    return this.executeWith(returnPromise<T>, work, options?.signal);
  }

  /**
   * Runs `fn(arg)` within the budget, with the call's context current while `fn` starts.
   * @internal
   */
  executeWith<A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A, signal?: AbortSignal): Promise<T> {
    const outer = activeContext();
    const parent = eitherAbort(signal, outer?.cancellation);
    if (parent?.aborted) return Promise.reject(toError(parent.reason));
    const deadline = new Deadline<T>(this, outer?.attempt ?? 1, parent);
    // An executor closure rather than a shared one parking the resolvers in module variables: those live in
    // the old generation, and writing to them costs more than allocating the closure.
    const promise = new Promise<T>((resolve, reject) => {
      deadline.resolve = resolve;
      deadline.reject = reject;
    });
    if (signal) linkCallerSignal(deadline, signal);
    this.deadlines.add(deadline);
    try {
      const result = runInContext(deadline, fn, arg);
      if (isThenable(result))
        result.then(
          (value) => deadline.onValue(value),
          (error: unknown) => deadline.onError(error),
        );
      else deadline.onValue(result);
    } catch (error) {
      // The work threw, or a thenable's then() did: settle now, or the deadline would later reject unobserved.
      deadline.onError(error);
    }
    return promise;
  }
}

const CALL_OPTION_KEYS = ['signal'] as const;

// The common call: a function, no options, no policy around it.
function isPlainCall<T>(
  work: TimeoutWork<T>,
  options: TimeoutCallOptions | undefined,
): work is (signal: AbortSignal) => T | PromiseLike<T> {
  return options === undefined && typeof work === 'function' && isOutsideContext();
}

/*
 * The common call in as little code as possible, one call away from the public entry points. V8 inlines a call
 * chain only while the inlined bytecode stays under a budget, counting a callee already optimized on its own
 * with everything it inlined; past the budget the Deadline is built by a real constructor call and the chain
 * gains call boundaries (measured: 13 to 30 ns). The user's function is called right here, not through
 * runInContext: that call site sees every policy's function, and V8 does not inline through it. The settle
 * lines repeat executeWith's on purpose: in a shared helper the callbacks would need a closure context of their
 * own, one more allocation per call (measured: 4 % more garbage).
 */
function runOutermost<T>(
  timed: Timeout,
  work: (signal: AbortSignal) => T | PromiseLike<T>,
): Promise<T> {
  const deadline = new Deadline<T>(timed, 1, undefined);
  const promise = new Promise<T>((resolve, reject) => {
    deadline.resolve = resolve;
    deadline.reject = reject;
  });
  timed.deadlines.add(deadline);
  setOutermostContext(deadline);
  try {
    const result = work.length === 0 ? (work as () => T | PromiseLike<T>)() : work(deadline.signal);
    if (isThenable(result))
      result.then(
        (value) => deadline.onValue(value),
        (error: unknown) => deadline.onError(error),
      );
    else deadline.onValue(result);
  } catch (error) {
    deadline.onError(error);
  } finally {
    setOutermostContext(undefined);
  }
  return promise;
}

// A function that declares no parameter never sees the signal: don't pay for a controller it won't read.
function starterFor<T>(
  work: (signal: AbortSignal) => T | PromiseLike<T>,
): (work: (signal: AbortSignal) => T | PromiseLike<T>) => T | PromiseLike<T> {
  return work.length === 0 ? callWithoutSignal<T> : callWithSignal<T>;
}

// Runs in the call's context, whose cancellation is the call's Deadline.
function callWithSignal<T>(work: (signal: AbortSignal) => T | PromiseLike<T>): T | PromiseLike<T> {
  return work(activeContext()!.cancellation!.signal);
}

function callWithoutSignal<T>(
  work: (signal: AbortSignal) => T | PromiseLike<T>,
): T | PromiseLike<T> {
  return (work as () => T | PromiseLike<T>)();
}

function returnPromise<T>(work: PromiseLike<T>): PromiseLike<T> {
  return work;
}

// A caller's own signal ends the call at once: the caller has stopped waiting.
function linkCallerSignal<T>(deadline: Deadline<T>, signal: AbortSignal): void {
  const onAbort = () => {
    const reason = toError(signal.reason);
    if (deadline.finish()) deadline.reject(reason);
    deadline.abort(reason);
  };
  deadline.watch(signal, onAbort);
}

/**
 * Runs `work` with a time budget: rejects with {@link TimeoutError} at the deadline and aborts the signal
 * handed to `work`. Accepts a function `(signal) => …` or an already running promise.
 *
 * @example
 * ```ts
 * const res = await runWithTimeout((signal) => fetch(url, { signal }), '5s');
 * ```
 * @throws ConfigError (synchronously) when the duration is invalid
 */
export function runWithTimeout<T>(
  work: TimeoutWork<T>,
  timeout: Duration,
  options?: TimeoutCallOptions,
): Promise<T> {
  // The common call in a few bytes of code (see runOutermost): the same duration as last time, as given (so a
  // string is not parsed again), and a plain call.
  if (timeout === lastDuration && isPlainCall(work, options))
    return runOutermost(lastTimeout, work);
  return runWithAnyTimeout(work, timeout, options);
}

function runWithAnyTimeout<T>(
  work: TimeoutWork<T>,
  timeout: Duration,
  options: TimeoutCallOptions | undefined,
): Promise<T> {
  if (timeout !== lastDuration) {
    lastTimeout = timeoutFor(toMs(timeout, 'timeout'));
    lastDuration = timeout;
  }
  return lastTimeout.run(work, options);
}

// runWithTimeout needs a Timeout per duration; reusing them keeps the call free of allocations.
const timeoutsByDuration = new Map<number, Timeout>();
let lastDuration: Duration = 0;
let lastTimeout = new Timeout(lastDuration);
function timeoutFor(ms: number): Timeout {
  let timeout = timeoutsByDuration.get(ms);
  if (timeout === undefined) {
    timeout = new Timeout(ms);
    if (timeoutsByDuration.size < 256) timeoutsByDuration.set(ms, timeout);
  }
  return timeout;
}
