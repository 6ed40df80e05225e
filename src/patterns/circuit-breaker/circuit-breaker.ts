import { onAbort } from '../../core/abort-listener.js';
import { callAbort, untilAborted } from '../../core/cancellation.js';
import { MAX_DURATION_MS } from '../../core/duration.js';
import { now } from '../../core/clock.js';
import { activeContext, runInContext } from '../../core/context.js';
import {
  CircuitBreakerError,
  ConfigError,
  matchesExceptions,
  retryAfterOf,
  toError,
} from '../../core/errors.js';
import { askCallback, EventEmitter } from '../../core/events.js';
import type { LazyAbort } from '../../core/lazy-abort.js';
import { callThunk, type CallOptions, type Next, type Policy } from '../../core/policy.js';
import { OptionsChecker, readEntry } from '../../core/validate.js';
import {
  resolveCircuitBreakerOptions,
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
} from './circuit-breaker.options.js';
import { CircuitState, type CircuitSnapshot } from './circuit-state.js';
import {
  CountWindow,
  TimeWindow,
  windowMetrics,
  type SlidingWindow,
  type WindowMetrics,
} from './sliding-window.js';
import { isThenable } from '../../core/thenable.js';

/** Events of a {@link CircuitBreaker}. */
export interface CircuitBreakerEvents {
  /** The circuit moved from one state to another. */
  stateChange: { from: CircuitState; to: CircuitState };
  /** A call was rejected without running: the circuit was open, or half-open with every trial slot taken. */
  rejected: { state: CircuitState; retryAfter: number };
  /** A call succeeded (counted in `state`). */
  success: { state: CircuitState };
  /** A call failed and was counted: by its error, or by its value through `isFailureResult`. */
  failure: { state: CircuitState; error: unknown; value?: unknown };
  /** A call failed with an error outside `exceptions`: passed through uncounted. */
  ignored: { state: CircuitState; error: unknown };
  /** `onStateChange` or `isFailureResult` threw or rejected; the breaker went on. */
  callbackError: { error: unknown };
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Per-call options of {@link CircuitBreaker.protect}. */
export type CircuitBreakerCallOptions = CallOptions;

/**
 * A circuit breaker. CLOSED judges the calls that end: by consecutive counted failures (`failureThreshold`), or
 * in rate mode by the failure rate and slow-call rate of a sliding window (`failureRateThreshold`,
 * `slowCallDuration`); it opens when they say so. OPEN rejects at once with {@link CircuitBreakerError}; after the
 * open time it lets `halfOpenMaxCalls` trial calls through at a time (HALF_OPEN): `successThreshold` successes
 * close it, a counted failure (or a slow trial) opens it again, for twice as long up to `maxTimeout`; trials that
 * have all run for `timeout` without settling give their slots back (their outcome still counts). The move
 * from OPEN to HALF_OPEN is made when someone next calls or reads `state`, so an idle breaker holds no timer.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 5, timeout: '60s', exceptions: [NetworkError] });
 * try {
 *   return await breaker.protect(() => externalApi.call());
 * } catch (error) {
 *   if (error instanceof CircuitBreakerError) return cache.get(key); // open: fail fast
 *   throw error;
 * }
 * ```
 */
export class CircuitBreaker<R = unknown> implements Policy<
  CircuitBreakerEvents,
  CircuitBreakerCallOptions
> {
  /** `'circuitBreaker'`. */
  readonly kind = 'circuitBreaker';
  /** The resolved options (durations in ms, defaults applied). */
  readonly options: ResolvedCircuitBreakerOptions;
  /** Typed events: `stateChange`, `rejected`, `success`, `failure`, `ignored`, `callbackError`. */
  readonly events = new EventEmitter<CircuitBreakerEvents>();

  // All the state that outlives a call, as plain data: what toJSON() saves (with the window's outcomes).
  private readonly record: CircuitSnapshot;
  // Rate mode: the outcomes judged in CLOSED.
  private readonly window: SlidingWindow | undefined;
  // Rate mode with slowCallDuration: calls are timed.
  private readonly timed: boolean;
  // The open time the backoff has reached (null: none yet, `timeout`). `record.openMs` is longer when a failure's
  // retryAfter held the circuit open longer; re-opening doubles this, so a server's one long Retry-After does not
  // become the breaker's own backoff.
  private backoffMs: number | null;
  // Trial calls running in HALF_OPEN.
  private trials = 0;
  // When the latest trial was admitted: `timeout` later, the slots of trials that never settled are taken back.
  private trialAdmittedAt = 0;
  // Bumped when the slots are taken back: a trial admitted before frees none when it settles.
  private slots = 0;
  // Bumped on every transition and reset: a call that outlives the period it was admitted in changes nothing.
  private generation = 0;
  // The closed path's callbacks, bound to the generation they count for: remade at each move, so the common call
  // allocates no closure of its own.
  private closedValue!: <T>(value: T) => T;
  private closedError!: (error: unknown) => never;

  /** @throws ConfigError naming each invalid option */
  constructor(options: CircuitBreakerOptions<R> = {}) {
    const checker = new OptionsChecker(options);
    this.options = resolveCircuitBreakerOptions(checker);
    checker.throwIfInvalid();
    const { window: saved, backoffMs, ...record } = this.options.initialState;
    this.record = record;
    this.backoffMs = record.openMs === null ? null : (backoffMs ?? record.openMs);
    const rate = this.options.rate;
    this.timed = rate !== undefined && rate.slowCallDuration !== Infinity;
    if (rate !== undefined) {
      const { window } = rate;
      this.window =
        'calls' in window
          ? new CountWindow(window.calls)
          : new TimeWindow(window.time, window.buckets);
      if (saved !== undefined) this.window.restore(saved);
    }
    this.bindClosedPath();
  }

  /** The current state; an OPEN circuit whose timeout has passed becomes HALF_OPEN when read. */
  get state(): CircuitState {
    this.refresh();
    return this.record.state;
  }

  /**
   * The state {@link CircuitBreaker.state} would return, read without side effects: an OPEN circuit whose
   * open time has passed reads HALF_OPEN but is not moved, so nothing is emitted. For observers (metrics,
   * health checks), which must not change what they observe.
   */
  peekState(): CircuitState {
    return this.openTimeOver() ? CircuitState.HALF_OPEN : this.record.state;
  }

  /**
   * What the breaker judges now, without changing anything: in rate mode the calls of the current window,
   * how many failed and were slow, and the rates in percent; in consecutive mode the current run of counted
   * failures (each a failed call).
   */
  metrics(): WindowMetrics {
    if (this.window === undefined) {
      const { failures } = this.record;
      return windowMetrics({ calls: failures, failed: failures, slow: 0 });
    }
    if (this.window.timed) this.window.rotate(now());
    return windowMetrics(this.window);
  }

  /**
   * Calls `fn` through the breaker: its value or error is passed on unchanged, or the call is rejected at once
   * with {@link CircuitBreakerError} while the circuit is open. When `options.signal` aborts, the call rejects
   * at once with its reason and its outcome is not counted.
   */
  protect<T extends R>(
    fn: () => T | PromiseLike<T>,
    options?: CircuitBreakerCallOptions,
  ): Promise<T> {
    const checked = readEntry(fn, options, CALL_OPTION_KEYS);
    return checked instanceof ConfigError
      ? Promise.reject(checked)
      : this.executeWith(callThunk<T>, fn, checked);
  }

  /** Runs `next(invocation)` through the breaker: the policy contract's entry, which the pipeline calls. */
  executeWith<I, T>(
    next: Next<I, T>,
    invocation: I,
    options?: CircuitBreakerCallOptions,
  ): Promise<T> {
    const signal = options?.signal;
    const outer = activeContext();
    if (signal === undefined && outer?.cancellation === undefined && !this.timed) {
      // The common call: nothing can abort it, so its outcome is always recorded.
      if (this.record.state !== CircuitState.CLOSED)
        return this.guarded(next, invocation, undefined);
      let result: T | PromiseLike<T>;
      try {
        result = next(invocation);
        // In the try: a revoked Proxy returned makes instanceof throw; it fails as awaiting it would.
        if (result instanceof Promise)
          return (result as Promise<T>).then(this.closedValue, this.closedError);
      } catch (error) {
        this.closedFailure(this.generation, error, false);
        return Promise.reject(error);
      }
      return Promise.resolve(result).then(this.closedValue, this.closedError);
    }
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    if (signal === undefined) return this.guarded(next, invocation, abort);
    const context = { cancellation: abort, attempt: outer?.attempt ?? 1 };
    const inContext = (call: I) => runInContext(context, next, call);
    return untilAborted(this.guarded(inContext, invocation, abort), signal, abort);
  }

  /**
   * Forces CLOSED with counters and window cleared and the open backoff back to `timeout` (also ends
   * `isolate()`); resolves once `onStateChange` has run.
   */
  reset(): Promise<void> {
    const { record } = this;
    const moved =
      record.state === CircuitState.CLOSED ? undefined : this.moveTo(CircuitState.CLOSED);
    // Calls running now outlive what they were admitted in, even when the circuit stays CLOSED.
    if (moved === undefined) this.nextGeneration();
    record.failures = record.successes = 0;
    record.openedAt = record.openMs = this.backoffMs = null;
    this.window?.clear();
    return moved ?? RESOLVED;
  }

  /** Forces the circuit OPEN until {@link CircuitBreaker.reset}: no trial call is let through meanwhile. */
  isolate(): void {
    const wasOpen = this.record.state === CircuitState.OPEN;
    this.record.isolated = true;
    if (!wasOpen) void this.moveTo(CircuitState.OPEN);
  }

  /**
   * The state as plain data, to save and pass back later as `initialState`. Saving observes: an OPEN circuit
   * whose open time has passed is saved OPEN, as it stands, and becomes HALF_OPEN when next used (here or
   * wherever the snapshot is restored), so saving emits nothing.
   */
  toJSON(): CircuitSnapshot {
    const snapshot: CircuitSnapshot = { ...this.record };
    if (this.backoffMs !== null && this.backoffMs !== snapshot.openMs)
      snapshot.backoffMs = this.backoffMs;
    return this.window === undefined
      ? snapshot
      : { ...snapshot, window: this.window.snapshot(now()) };
  }

  /** Milliseconds until an OPEN circuit lets a trial through (0 once it may). */
  private openLeft(): number {
    const { record } = this;
    const time = now();
    // A clock that stepped back (NTP, a test's setSystemTime) would hold the circuit open for the whole step:
    // the open period counts from now instead, so it never lasts longer than its own length.
    if (record.openedAt !== null && time < record.openedAt) record.openedAt = time;
    return Math.max(
      0,
      (record.openedAt ?? -Infinity) + (record.openMs ?? this.options.timeout) - time,
    );
  }

  /** The lazy OPEN → HALF_OPEN move. */
  private refresh(): void {
    if (this.openTimeOver()) void this.moveTo(CircuitState.HALF_OPEN);
  }

  /** True when the circuit is OPEN (not isolated) and its open time has passed. */
  private openTimeOver(): boolean {
    const { record } = this;
    return record.state === CircuitState.OPEN && !record.isolated && this.openLeft() === 0;
  }

  /**
   * Any call but the common one: admits it (or rejects it), runs it, and records its outcome unless `abort` fired
   * meanwhile (the caller has gone: the outcome says nothing it waited for, and a trial slot is freed).
   */
  private guarded<I, T>(next: Next<I, T>, invocation: I, abort: LazyAbort | undefined): Promise<T> {
    this.refresh();
    const { record } = this;
    if (record.state === CircuitState.OPEN)
      return this.reject(CircuitState.OPEN, record.isolated ? 0 : this.openLeft());
    let leftTrial: (() => void) | undefined;
    if (record.state === CircuitState.HALF_OPEN) {
      const time = now();
      if (this.trials >= this.options.halfOpenMaxCalls) {
        // A clock that stepped back counts from now, as an open period does.
        if (time < this.trialAdmittedAt) this.trialAdmittedAt = time;
        if (time - this.trialAdmittedAt < this.options.timeout)
          return this.reject(CircuitState.HALF_OPEN, 0);
        // Every trial has run for `timeout` without settling (work that hangs, with no signal to end it): their
        // slots are taken back, or HALF_OPEN would reject every call for ever. What they say later still counts
        // (a slow recovery still closes the circuit), but frees no slot.
        this.trials = 0;
        this.slots++;
      }
      this.trials++;
      this.trialAdmittedAt = time;
    }
    const admission = this.generation;
    const slots = this.slots;
    // A trial whose caller gives up frees its slot at once: its work may never end.
    if (record.state === CircuitState.HALF_OPEN && abort !== undefined)
      leftTrial = onAbort(abort.signal, () => {
        if (admission === this.generation && slots === this.slots) this.trials--;
      });
    const started = this.timed ? now() : 0;
    let result: T | PromiseLike<T>;
    try {
      result = next(invocation);
    } catch (error) {
      this.settled(admission, slots, abort, leftTrial, started, { error });
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.settled(admission, slots, abort, leftTrial, started, { value });
        return value;
      },
      (error: unknown) => {
        this.settled(admission, slots, abort, leftTrial, started, { error });
        throw error;
      },
    );
  }

  /**
   * Records how a call admitted in generation `admission` ended, unless it outlived that period or its caller
   * gave up (`abort`); a trial stops watching its caller (`leftTrial`), and frees its slot unless the slots were
   * taken back since (`slots`).
   */
  private settled(
    admission: number,
    slots: number,
    abort: LazyAbort | undefined,
    leftTrial: (() => void) | undefined,
    started: number,
    outcome: { error: unknown } | { value: unknown },
  ): void {
    leftTrial?.();
    if (abort?.aborted === true || admission !== this.generation) return;
    const slow = this.timed && now() - started > this.options.rate!.slowCallDuration;
    if (this.record.state === CircuitState.CLOSED) {
      if ('error' in outcome) this.closedFailure(admission, outcome.error, slow);
      else this.closedSuccess(admission, outcome.value, slow);
    } else if ('error' in outcome) this.trialError(admission, slots, outcome.error, slow);
    else this.trialValue(admission, slots, outcome.value, slow);
  }

  private reject<T>(state: CircuitState, retryAfter: number): Promise<T> {
    if (this.events.has('rejected')) this.events.emit('rejected', { state, retryAfter });
    const error = this.record.isolated
      ? CircuitBreakerError.isolated(state)
      : new CircuitBreakerError(state, retryAfter);
    return Promise.reject(error);
  }

  /*
   * Below, `generation` is the period a call was admitted in. User code runs on the way (isFailureResult, event
   * listeners), and it may call the breaker or move it (isolate, reset): once it has, the call changes nothing.
   */

  // Makes the closed path's callbacks for the current generation.
  private bindClosedPath(): void {
    const generation = this.generation;
    this.closedValue = <T>(value: T): T => {
      this.closedSuccess(generation, value, false);
      return value;
    };
    this.closedError = (error: unknown): never => {
      this.closedFailure(generation, error, false);
      throw error;
    };
  }

  private closedSuccess(generation: number, value: unknown, slow: boolean): void {
    if (generation !== this.generation) return;
    if (this.isFailureResult(value)) {
      this.countFailure(generation, CircuitState.CLOSED, undefined, value, slow);
      return;
    }
    if (generation !== this.generation) return;
    if (this.events.has('success')) {
      this.events.emit('success', { state: CircuitState.CLOSED });
      if (generation !== this.generation) return;
    }
    if (this.window === undefined) this.record.failures = 0;
    else this.judge(false, slow, undefined);
  }

  private closedFailure(generation: number, error: unknown, slow: boolean): void {
    if (generation !== this.generation) return;
    if (this.counts(error))
      this.countFailure(generation, CircuitState.CLOSED, error, undefined, slow);
    else if (this.events.has('ignored'))
      this.events.emit('ignored', { state: CircuitState.CLOSED, error });
  }

  private trialValue(generation: number, slots: number, value: unknown, slow: boolean): void {
    if (this.isFailureResult(value)) {
      this.countFailure(generation, CircuitState.HALF_OPEN, undefined, value, slow);
      return;
    }
    if (generation !== this.generation) return;
    if (slots === this.slots) this.trials--;
    if (this.events.has('success')) {
      this.events.emit('success', { state: CircuitState.HALF_OPEN });
      if (generation !== this.generation) return;
    }
    // A slow trial says the dependency has not recovered, even though it answered.
    if (slow) void this.moveTo(CircuitState.OPEN);
    else if (++this.record.successes >= this.options.successThreshold)
      void this.moveTo(CircuitState.CLOSED);
  }

  private trialError(generation: number, slots: number, error: unknown, slow: boolean): void {
    if (this.counts(error)) {
      this.countFailure(generation, CircuitState.HALF_OPEN, error, undefined, slow);
      return;
    }
    // An ignored error says nothing about recovery: free the slot for another trial.
    if (slots === this.slots) this.trials--;
    if (this.events.has('ignored'))
      this.events.emit('ignored', { state: CircuitState.HALF_OPEN, error });
  }

  /** Counts a failure of a call admitted in `generation`, when the breaker is still in that period (`state`). */
  private countFailure(
    generation: number,
    state: CircuitState,
    error: unknown,
    value: unknown,
    slow: boolean,
  ): void {
    const { record } = this;
    if (generation !== this.generation) return;
    if (this.events.has('failure')) {
      this.events.emit('failure', value === undefined ? { state, error } : { state, error, value });
      if (generation !== this.generation) return;
    }
    if (state === CircuitState.HALF_OPEN) void this.moveTo(CircuitState.OPEN, error);
    else if (this.window !== undefined) this.judge(true, slow, error);
    else if (++record.failures >= this.options.failureThreshold)
      void this.moveTo(CircuitState.OPEN, error);
  }

  /** Rate mode: records a call that ended in CLOSED, then opens when the window's rates say so. */
  private judge(failed: boolean, slow: boolean, error: unknown): void {
    const window = this.window!;
    const rate = this.options.rate!;
    window.record(failed, slow, window.timed ? now() : 0);
    const { calls } = window;
    if (calls < rate.minimumCalls) return;
    if (
      window.failed * 100 >= rate.failureRateThreshold * calls ||
      window.slow * 100 >= rate.slowCallRateThreshold * calls
    )
      void this.moveTo(CircuitState.OPEN, error);
  }

  /**
   * Whether `error` counts as a failure under `exceptions`; any other error is ignored, and so is a ConfigError
   * (a mistake in the code says nothing about the dependency) unless `exceptions` names it.
   */
  protected counts(error: unknown): boolean {
    return matchesExceptions(error, this.options.exceptions);
  }

  /** Whether `isFailureResult` calls `value` a failure; one that throws calls it none (a `callbackError`). */
  protected isFailureResult(value: unknown): boolean {
    const predicate = this.options.isFailureResult;
    return (
      predicate !== undefined && askCallback(predicate, value, this.reportCallbackError) === true
    );
  }

  /**
   * Moves to `to`, clearing counters (and, opening, the window); returns the callback's promise when it is
   * async. `cause` is the failure that opened the circuit: a `retryAfter` it carries keeps it open that long.
   */
  private moveTo(to: CircuitState, cause?: unknown): Promise<void> | undefined {
    const { record } = this;
    const from = record.state;
    record.state = to;
    record.failures = 0;
    record.successes = 0;
    this.trials = 0;
    this.nextGeneration();
    if (to === CircuitState.OPEN) {
      record.openedAt = now();
      record.openMs = this.openTime(from, cause);
      this.window?.clear();
    } else if (to === CircuitState.CLOSED) record.isolated = false;
    return this.announce(from, to);
  }

  /**
   * Tells `stateChange` listeners and `onStateChange` of a move; returns the callback's promise when it is
   * async. A callback that throws or rejects is a `callbackError` event.
   */
  protected announce(from: CircuitState, to: CircuitState): Promise<void> | undefined {
    if (this.events.has('stateChange')) this.events.emit('stateChange', { from, to });
    const callback = this.options.onStateChange;
    if (callback === undefined) return undefined;
    try {
      const result = callback(from, to);
      if (isThenable(result))
        return Promise.resolve(result).then(undefined, this.reportCallbackError);
    } catch (error) {
      this.reportCallbackError(error);
    }
    return undefined;
  }

  /**
   * How long to stay open: the timeout, doubled per re-open from HALF_OPEN up to maxTimeout (the backoff), or
   * longer when the failure's `retryAfter` says so; the backoff goes on from its own value, not from that.
   */
  private openTime(from: CircuitState, cause: unknown): number {
    const { timeout, maxTimeout } = this.options;
    const previous = this.backoffMs ?? timeout;
    const backedOff =
      from === CircuitState.HALF_OPEN ? Math.min(maxTimeout, previous * 2) : timeout;
    this.backoffMs = backedOff;
    const retryAfter = retryAfterOf(cause);
    return retryAfter > backedOff ? Math.min(retryAfter, MAX_DURATION_MS) : backedOff;
  }

  private nextGeneration(): void {
    this.generation++;
    this.bindClosedPath();
  }

  protected readonly reportCallbackError = (error: unknown): void => {
    if (this.events.has('callbackError')) this.events.emit('callbackError', { error });
  };
}

const CALL_OPTION_KEYS = ['signal'] as const;
