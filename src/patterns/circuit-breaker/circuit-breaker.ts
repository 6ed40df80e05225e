import { now } from '../../core/clock.js';
import { CircuitBreakerError, ConfigError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { OptionsChecker } from '../../core/validate.js';
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

/**
 * A circuit breaker. CLOSED counts consecutive failures and opens at `failureThreshold`; OPEN rejects at once
 * with {@link CircuitBreakerError}; after `timeout` it lets `halfOpenMaxCalls` trial calls through at a time
 * (HALF_OPEN): `successThreshold` successes close it, a counted failure opens it again. The move from OPEN to
 * HALF_OPEN is made when someone next looks (a call, `state`), so an idle breaker holds no timer.
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
export class CircuitBreaker {
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
  constructor(options: CircuitBreakerOptions<never> = {}) {
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
   * The state {@link CircuitBreaker.state} would return, read without side effects: an OPEN circuit whose
   * timeout has passed reads HALF_OPEN but is not moved, so nothing is emitted. For observers (metrics,
   * health checks), which must not change what they observe.
   */
  peekState(): CircuitState {
    return this.openTimeOver() ? CircuitState.HALF_OPEN : this.record.state;
  }

  /**
   * Calls `fn` through the breaker: its value or error is passed on unchanged, or the call is rejected at once
   * with {@link CircuitBreakerError} while the circuit is open.
   */
  protect<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    if (typeof fn !== 'function')
      return Promise.reject(ConfigError.invalid('fn', 'a function', fn));
    return this.executeWith(invokeThunk<T>, fn);
  }

  /**
   * Calls `fn(arg)` through the breaker; the pipeline uses this form so a call costs no closure.
   * @internal
   */
  executeWith<A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A): Promise<T> {
    if (this.record.state !== CircuitState.CLOSED) return this.trial(fn, arg);
    let result: T | PromiseLike<T>;
    try {
      result = fn(arg);
    } catch (error) {
      this.closedFailure(error);
      return Promise.reject(error);
    }
    if (result instanceof Promise)
      return (result as Promise<T>).then(this.closedValue, this.closedError);
    return Promise.resolve(result).then(this.closedValue, this.closedError);
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
    if (this.openTimeOver()) void this.moveTo(CircuitState.HALF_OPEN);
  }

  /** True when the circuit is OPEN (not isolated) and its open time has passed. */
  private openTimeOver(): boolean {
    const { record } = this;
    return (
      record.state === CircuitState.OPEN &&
      !record.isolated &&
      now() - (record.openedAt ?? -Infinity) >= this.options.timeout
    );
  }

  private trial<A, T>(fn: (arg: A) => T | PromiseLike<T>, arg: A): Promise<T> {
    this.refresh();
    const { record } = this;
    if (record.state === CircuitState.CLOSED) return this.executeWith(fn, arg);
    if (record.state === CircuitState.OPEN) {
      const retryAfter = record.isolated
        ? 0
        : Math.max(0, (record.openedAt ?? 0) + this.options.timeout - now());
      return this.reject(CircuitState.OPEN, retryAfter);
    }
    if (this.trials >= this.options.halfOpenMaxCalls) return this.reject(CircuitState.HALF_OPEN, 0);
    this.trials++;
    const generation = this.generation;
    let result: T | PromiseLike<T>;
    try {
      result = fn(arg);
    } catch (error) {
      this.trialError(generation, error);
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.trialValue(generation, value);
        return value;
      },
      (error: unknown) => {
        this.trialError(generation, error);
        throw error;
      },
    );
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

function invokeThunk<T>(fn: () => T | PromiseLike<T>): T | PromiseLike<T> {
  return fn();
}
