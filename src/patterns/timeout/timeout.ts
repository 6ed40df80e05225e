import { now } from '../../core/clock.js';
import {
  activeContext,
  isOutsideContext,
  runInContext,
  setOutermostContext,
  type CallContext,
} from '../../core/context.js';
import { DeadlineQueue, type DeadlineEntry } from '../../core/deadline-queue.js';
import { type Duration, toMs } from '../../core/duration.js';
import { ConfigError, PolicyResetError, TimeoutError, toError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import type { LinkedQueue, QueueNode } from '../../core/linked-queue.js';
import type { Next, Policy } from '../../core/policy.js';
import { isThenable } from '../../core/thenable.js';
import { readCallOptions } from '../../core/validate.js';
import { resolveTimeout, type TimeoutCallOptions, type TimeoutOptions } from './timeout.options.js';
import { ignore } from '../../core/ignore.js';

/** Work a timeout can bound: a function given the call's signal, or a promise that is already running. */
export type TimeoutWork<T> = ((signal: AbortSignal) => T | PromiseLike<T>) | PromiseLike<T>;

/** Events of a {@link Timeout}. */
export interface TimeoutEvents {
  /** A call exceeded its budget. */
  timeout: { timeout: number };
}

/*
 * One object per call is the call's lazy abort, its context (for currentSignal()) and its entry in the shared
 * deadline queue. Few fields, assigned in the constructor, never written into a long-lived object but as the
 * current context: each of these is a measured cost on the hot path (bench/README.md, "Hot-path rules").
 */
class Deadline<T> extends LazyAbort implements DeadlineEntry, CallContext {
  declare readonly owner: Timeout;
  // Moved back by the deadline queue when the clock steps back.
  declare expiresAt: number;
  declare readonly attempt: number;
  declare previous: QueueNode | undefined;
  declare next: QueueNode | undefined;
  declare queue: LinkedQueue<QueueNode> | undefined;
  declare resolve: (value: T | PromiseLike<T>) => void;
  declare reject: (reason: unknown) => void;

  constructor(
    owner: Timeout,
    attempt: number,
    parent: LazyAbort | AbortSignal | undefined,
    time: number,
  ) {
    super(parent);
    this.owner = owner;
    this.expiresAt = time + owner.timeout;
    this.attempt = attempt;
    this.previous = this.next = this.queue = undefined;
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

  /** The policy was reset: the call ends with `error`, its signal aborting with it, and no `timeout` event. */
  cancel(error: Error): void {
    this.reject(error);
    this.abort(error);
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
export class Timeout implements Policy<TimeoutEvents, TimeoutCallOptions> {
  /** `'timeout'`. */
  readonly kind = 'timeout';
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
    this.timeout = resolveTimeout(timeout);
  }

  /**
   * Returns the timeout to its initial state: every call in flight ends now with {@link PolicyResetError} (its
   * signal aborting with it) and the shared timer is let go.
   */
  reset(): void {
    const error = new PolicyResetError('The timeout');
    for (const deadline of this.deadlines.drain()) (deadline as Deadline<unknown>).cancel(error);
  }

  /** Runs `work` within the budget. A function receives the call's `AbortSignal` (created only if it takes one). */
  run<T>(work: TimeoutWork<T>, options?: TimeoutCallOptions): Promise<T> {
    return isPlainCall(work, options) ? runOutermost(this, work) : this.runChecked(work, options);
  }

  private runChecked<T>(work: TimeoutWork<T>, given?: TimeoutCallOptions): Promise<T> {
    let thenable: boolean;
    try {
      // A promise runs already: if the call ends without awaiting it (bad options, an aborted signal), its
      // failure must still not become an unhandled rejection.
      if (work instanceof Promise) work.catch(ignore);
      thenable = typeof work !== 'function' && isThenable(work);
    } catch {
      thenable = false; // a revoked Proxy, a `then` getter that throws: neither a function nor a promise
    }
    const options = readCallOptions(given, CALL_OPTION_KEYS);
    if (options instanceof ConfigError) return Promise.reject(options);
    if (typeof work === 'function') return this.executeWith(starterFor(work), work, options);
    if (!thenable) return Promise.reject(ConfigError.invalid('work', WORK_RULE, work));
    return this.executeWith(returnPromise<T>, work, options);
  }

  /**
   * Runs `next(invocation)` within the budget, with the call's context current while it starts: the policy
   * contract's entry, which the decorator pipeline calls.
   */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: TimeoutCallOptions): Promise<T> {
    const outer = activeContext();
    const signal = options?.signal;
    const parent = outer?.cancellation;
    if (parent?.aborted) return Promise.reject(toError(parent.reason));
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    const time = now();
    const deadline = new Deadline<T>(this, outer?.attempt ?? 1, parent, time);
    // An executor closure rather than a shared one parking the resolvers in module variables: those live in
    // the old generation, and writing to them costs more than allocating the closure.
    const promise = new Promise<T>((resolve, reject) => {
      deadline.resolve = resolve;
      deadline.reject = reject;
    });
    if (signal) linkCallerSignal(deadline, signal);
    this.deadlines.add(deadline, time);
    try {
      const result = runInContext(deadline, next, invocation);
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
const WORK_RULE = 'a function or a promise';

// The common call: a function, no options, no policy around it.
function isPlainCall<T>(
  work: TimeoutWork<T>,
  options: TimeoutCallOptions | undefined,
): work is (signal: AbortSignal) => T | PromiseLike<T> {
  return options === undefined && typeof work === 'function' && isOutsideContext();
}

/*
 * The common call (a function, no options, no policy around it) in code small enough to be inlined whole, calling
 * the user's function directly; the settle lines repeat executeWith's on purpose (bench/README.md, "Hot-path
 * rules": the outermost timeout call).
 */
function runOutermost<T>(
  timed: Timeout,
  work: (signal: AbortSignal) => T | PromiseLike<T>,
): Promise<T> {
  const time = now();
  const deadline = new Deadline<T>(timed, 1, undefined, time);
  const promise = new Promise<T>((resolve, reject) => {
    deadline.resolve = resolve;
    deadline.reject = reject;
  });
  timed.deadlines.add(deadline, time);
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

// A caller's own signal ends the call at once (the caller has stopped waiting) and aborts the call's signal.
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
