import { callAbort, untilAborted } from '../../core/cancellation.js';
import { now } from '../../core/clock.js';
import { activeContext, runInContext } from '../../core/context.js';
import { CircuitBreakerError, ConfigError, toError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import type { LazyAbort } from '../../core/lazy-abort.js';
import { callThunk, type CallOptions, type Next, type Policy } from '../../core/policy.js';
import { OptionsChecker, callOptionsError } from '../../core/validate.js';
import {
  resolveCircuitBreakerOptions,
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
} from './circuit-breaker.options.js';
import { CircuitState, type CircuitSnapshot } from './circuit-state.js';
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

// How a call got through: CLOSED, or as a trial of one HALF_OPEN period (its generation).
const CLOSED_CALL = -1;

/**
 * A circuit breaker. CLOSED counts consecutive failures and opens at `failureThreshold`; OPEN rejects at once
 * with {@link CircuitBreakerError}; after `timeout` it lets `halfOpenMaxCalls` trial calls through at a time
 * (HALF_OPEN): `successThreshold` successes close it, a counted failure opens it again. The move from OPEN to
 * HALF_OPEN is made when someone next calls or reads `state`, so an idle breaker holds no timer.
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

  // All the state that outlives a call, as plain data: what toJSON() saves.
  private readonly record: CircuitSnapshot;
  // Trial calls running in HALF_OPEN.
  private trials = 0;
  // Bumped on every transition, so a trial that outlives its HALF_OPEN period changes nothing.
  private generation = 0;

  /** @throws ConfigError naming each invalid option */
  constructor(options: CircuitBreakerOptions<R> = {}) {
    const checker = new OptionsChecker(options);
    this.options = resolveCircuitBreakerOptions(checker);
    checker.throwIfInvalid();
    this.record = { ...this.options.initialState };
  }

  /** The current state; an OPEN circuit whose timeout has passed becomes HALF_OPEN when read. */
  get state(): CircuitState {
    this.refresh();
    return this.record.state;
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
    if (typeof fn !== 'function')
      return Promise.reject(ConfigError.invalid('fn', 'a function', fn));
    if (options !== undefined) {
      const invalid = callOptionsError(options, CALL_OPTION_KEYS);
      if (invalid) return Promise.reject(invalid);
    }
    return this.executeWith(callThunk<T>, fn, options);
  }

  /** Runs `next(invocation)` through the breaker: the policy contract's entry, which the pipeline calls. */
  executeWith<I, T>(
    next: Next<I, T>,
    invocation: I,
    options?: CircuitBreakerCallOptions,
  ): Promise<T> {
    const signal = options?.signal;
    const outer = activeContext();
    if (signal === undefined && outer?.cancellation === undefined) {
      // The common call: nothing can abort it, so its outcome is always recorded.
      if (this.record.state !== CircuitState.CLOSED)
        return this.guarded(next, invocation, undefined);
      let result: T | PromiseLike<T>;
      try {
        result = next(invocation);
      } catch (error) {
        this.closedFailure(error);
        return Promise.reject(error);
      }
      if (result instanceof Promise)
        return (result as Promise<T>).then(this.closedValue, this.closedError);
      return Promise.resolve(result).then(this.closedValue, this.closedError);
    }
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    if (signal === undefined) return this.guarded(next, invocation, abort);
    const context = { cancellation: abort, attempt: outer?.attempt ?? 1 };
    const inContext = (call: I) => runInContext(context, next, call);
    return untilAborted(this.guarded(inContext, invocation, abort), signal, abort);
  }

  /** Forces CLOSED with counters cleared (also ends `isolate()`); resolves once `onStateChange` has run. */
  reset(): Promise<void> {
    const { record } = this;
    if (record.state === CircuitState.CLOSED) {
      record.failures = 0;
      return RESOLVED;
    }
    return this.moveTo(CircuitState.CLOSED) ?? RESOLVED;
  }

  /** Forces the circuit OPEN until {@link CircuitBreaker.reset}: no trial call is let through meanwhile. */
  isolate(): void {
    const wasOpen = this.record.state === CircuitState.OPEN;
    this.record.isolated = true;
    if (!wasOpen) void this.moveTo(CircuitState.OPEN);
  }

  /** The state as plain data, to save and pass back later as `initialState`. */
  toJSON(): CircuitSnapshot {
    this.refresh();
    return { ...this.record };
  }

  /** The lazy OPEN → HALF_OPEN move. */
  private refresh(): void {
    const { record } = this;
    if (
      record.state === CircuitState.OPEN &&
      !record.isolated &&
      now() - (record.openedAt ?? -Infinity) >= this.options.timeout
    ) {
      void this.moveTo(CircuitState.HALF_OPEN);
    }
  }

  /**
   * Any call but the common one: admits it (or rejects it), runs it, and records its outcome unless `abort` fired
   * meanwhile (the caller has gone: the outcome says nothing it waited for, and a trial slot is freed).
   */
  private guarded<I, T>(next: Next<I, T>, invocation: I, abort: LazyAbort | undefined): Promise<T> {
    this.refresh();
    const { record } = this;
    if (record.state === CircuitState.OPEN) {
      const retryAfter = record.isolated
        ? 0
        : Math.max(0, (record.openedAt ?? 0) + this.options.timeout - now());
      return this.reject(CircuitState.OPEN, retryAfter);
    }
    let admission = CLOSED_CALL;
    if (record.state === CircuitState.HALF_OPEN) {
      if (this.trials >= this.options.halfOpenMaxCalls)
        return this.reject(CircuitState.HALF_OPEN, 0);
      this.trials++;
      admission = this.generation;
    }
    let result: T | PromiseLike<T>;
    try {
      result = next(invocation);
    } catch (error) {
      this.settled(admission, abort, { error });
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.settled(admission, abort, { value });
        return value;
      },
      (error: unknown) => {
        this.settled(admission, abort, { error });
        throw error;
      },
    );
  }

  private settled(
    admission: number,
    abort: LazyAbort | undefined,
    outcome: { error: unknown } | { value: unknown },
  ): void {
    if (abort?.aborted) {
      if (admission === this.generation && this.trials > 0) this.trials--;
      return;
    }
    if (admission === CLOSED_CALL) {
      if ('error' in outcome) this.closedFailure(outcome.error);
      else this.closedValue(outcome.value);
    } else if ('error' in outcome) this.trialError(admission, outcome.error);
    else this.trialValue(admission, outcome.value);
  }

  private reject<T>(state: CircuitState, retryAfter: number): Promise<T> {
    if (this.events.has('rejected')) this.events.emit('rejected', { state, retryAfter });
    const error = this.record.isolated
      ? new CircuitBreakerError(state, 0, 'Circuit is isolated: open until reset()')
      : new CircuitBreakerError(state, retryAfter);
    return Promise.reject(error);
  }

  // Bound once: the closed path attaches these to every call's promise without allocating closures.
  private readonly closedValue = <T>(value: T): T => {
    if (this.isFailureResult(value)) this.countFailure(CircuitState.CLOSED, undefined, value);
    else if (this.record.state === CircuitState.CLOSED) {
      this.record.failures = 0;
      if (this.events.has('success')) this.events.emit('success', { state: CircuitState.CLOSED });
    }
    return value;
  };

  private readonly closedError = (error: unknown): never => {
    this.closedFailure(error);
    throw error;
  };

  private closedFailure(error: unknown): void {
    if (this.counts(error)) this.countFailure(CircuitState.CLOSED, error, undefined);
    else if (this.events.has('ignored'))
      this.events.emit('ignored', { state: CircuitState.CLOSED, error });
  }

  private trialValue(generation: number, value: unknown): void {
    if (generation !== this.generation) return;
    if (this.isFailureResult(value)) {
      this.countFailure(CircuitState.HALF_OPEN, undefined, value);
      return;
    }
    this.trials--;
    const successes = ++this.record.successes;
    if (this.events.has('success')) this.events.emit('success', { state: CircuitState.HALF_OPEN });
    if (successes >= this.options.successThreshold) void this.moveTo(CircuitState.CLOSED);
  }

  private trialError(generation: number, error: unknown): void {
    if (generation !== this.generation) return;
    if (this.counts(error)) {
      this.countFailure(CircuitState.HALF_OPEN, error, undefined);
      return;
    }
    // An ignored error says nothing about recovery: free the slot for another trial.
    this.trials--;
    if (this.events.has('ignored'))
      this.events.emit('ignored', { state: CircuitState.HALF_OPEN, error });
  }

  /** Counts a failure observed in `state`; a call that outlived that state changes nothing. */
  private countFailure(state: CircuitState, error: unknown, value: unknown): void {
    const { record } = this;
    if (record.state !== state) return;
    if (this.events.has('failure'))
      this.events.emit('failure', value === undefined ? { state, error } : { state, error, value });
    if (state === CircuitState.HALF_OPEN || ++record.failures >= this.options.failureThreshold)
      void this.moveTo(CircuitState.OPEN);
  }

  private counts(error: unknown): boolean {
    const { exceptions } = this.options;
    return exceptions === undefined || exceptions.some((c) => error instanceof c);
  }

  private isFailureResult(value: unknown): boolean {
    const predicate = this.options.isFailureResult;
    if (predicate === undefined) return false;
    try {
      return predicate(value) === true;
    } catch (error) {
      this.reportCallbackError(error);
      return false;
    }
  }

  /** Moves to `to`, clearing counters; returns the callback's promise when it is async. */
  private moveTo(to: CircuitState): Promise<void> | undefined {
    const { record } = this;
    const from = record.state;
    record.state = to;
    record.failures = 0;
    record.successes = 0;
    this.trials = 0;
    this.generation++;
    if (to === CircuitState.OPEN) record.openedAt = now();
    else if (to === CircuitState.CLOSED) record.isolated = false;
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

  private readonly reportCallbackError = (error: unknown): void => {
    if (this.events.has('callbackError')) this.events.emit('callbackError', { error });
  };
}

const CALL_OPTION_KEYS = ['signal'] as const;
