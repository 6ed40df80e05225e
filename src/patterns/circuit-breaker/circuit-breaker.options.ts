import { MAX_DURATION_MS, type Duration } from '../../core/duration.js';
import { ConfigError, describeValue } from '../../core/errors.js';
import { OptionsChecker, isPlainObject } from '../../core/validate.js';
import type { ErrorClass } from '../retry/retry.options.js';
import {
  closedSnapshot,
  parseSnapshot,
  type CircuitSnapshot,
  type CircuitState,
} from './circuit-state.js';

/**
 * Which recent calls a rate-mode breaker judges: the last `calls` calls, or the calls of the last `time`
 * (kept in `buckets` buckets, default 10).
 */
export type SlidingWindowOptions = { calls: number } | { time: Duration; buckets?: number };

/** Options of {@link CircuitBreaker} and `@CircuitBreaker`; `T` is the result type `isFailureResult` judges. */
export interface CircuitBreakerOptions<T = unknown> {
  /**
   * Consecutive counted failures in CLOSED that open the circuit (consecutive mode). Default 5. Not with
   * `failureRateThreshold` or `slowCallDuration`, which judge a rate instead.
   */
  failureThreshold?: number;
  /**
   * Rate mode: the percent (0–100] of the window's calls that failed at which the circuit opens. Default 50 when
   * only `slowCallDuration` turns rate mode on.
   */
  failureRateThreshold?: number;
  /** Rate mode: the calls judged. Default `{ calls: 100 }`. */
  slidingWindow?: SlidingWindowOptions;
  /**
   * Rate mode: no verdict before the window holds this many calls. Default 10, or the size of a smaller count
   * window.
   */
  minimumCalls?: number;
  /** Rate mode: a call that takes longer than this is slow, whether it succeeds or fails. */
  slowCallDuration?: Duration;
  /** Rate mode: the percent (0–100] of slow calls in the window at which the circuit opens. Default 100. */
  slowCallRateThreshold?: number;
  /**
   * How long the circuit stays OPEN before a trial call is let through (HALF_OPEN): the open time, not a
   * deadline for calls (that is `@Timeout`). The name is the original library's. Default `'60s'`.
   */
  timeout?: Duration;
  /**
   * Open backoff: each re-open from HALF_OPEN doubles the open time, up to this; closing resets it. Default: the
   * `timeout` (no growth).
   */
  maxTimeout?: Duration;
  /** Successful trial calls in HALF_OPEN that close the circuit. Default 2. */
  successThreshold?: number;
  /** Trial calls let through at a time in HALF_OPEN; the rest are rejected. Default 1. */
  halfOpenMaxCalls?: number;
  /** Only errors that are `instanceof` one of these count as failures; others pass through uncounted. Default: every error. */
  exceptions?: readonly ErrorClass[];
  /** Counts a returned value as a failure (the value is still returned), e.g. a 503 response. */
  isFailureResult?: (value: T) => boolean;
  /**
   * Called on every transition, in order. May be async; a callback that throws or rejects never breaks the
   * breaker and is reported as a `callbackError` event.
   */
  onStateChange?: (from: CircuitState, to: CircuitState) => void | Promise<void>;
  /** Where to start: a state saved with `breaker.toJSON()`, or a bare state. Default CLOSED. */
  initialState?: CircuitSnapshot | CircuitState;
}

/** How a rate-mode breaker judges, resolved. */
export interface ResolvedRateOptions {
  /** Percent of the window's calls that failed at which the circuit opens. */
  readonly failureRateThreshold: number;
  /** Percent of the window's calls that were slow at which the circuit opens. */
  readonly slowCallRateThreshold: number;
  /** `Infinity` when no call is slow. */
  readonly slowCallDuration: number;
  /** Calls the window must hold before a verdict. */
  readonly minimumCalls: number;
  /** The last `calls` calls, or the calls of the last `time` ms in `buckets` buckets. */
  readonly window: { readonly calls: number } | { readonly time: number; readonly buckets: number };
}

/** Circuit breaker options with defaults applied and durations in ms. */
export interface ResolvedCircuitBreakerOptions {
  /** `Infinity` in rate mode. */
  readonly failureThreshold: number;
  /** Set in rate mode, undefined in consecutive mode. */
  readonly rate: ResolvedRateOptions | undefined;
  readonly timeout: number;
  readonly maxTimeout: number;
  readonly successThreshold: number;
  readonly halfOpenMaxCalls: number;
  readonly exceptions: readonly ErrorClass[] | undefined;
  /** See {@link CircuitBreakerOptions.isFailureResult}. */
  readonly isFailureResult: ((value: unknown) => boolean) | undefined;
  /** See {@link CircuitBreakerOptions.onStateChange}. */
  readonly onStateChange:
    ((from: CircuitState, to: CircuitState) => void | Promise<void>) | undefined;
  readonly initialState: CircuitSnapshot;
}

/** The option names `CircuitBreakerOptions` accepts. */
export const CIRCUIT_BREAKER_OPTION_KEYS = [
  'failureThreshold',
  'failureRateThreshold',
  'slidingWindow',
  'minimumCalls',
  'slowCallDuration',
  'slowCallRateThreshold',
  'timeout',
  'maxTimeout',
  'successThreshold',
  'halfOpenMaxCalls',
  'exceptions',
  'isFailureResult',
  'onStateChange',
  'initialState',
] as const;

const RATE_ONLY = ['slidingWindow', 'minimumCalls', 'slowCallRateThreshold'] as const;
const RATE_SWITCHES = ['failureRateThreshold', 'slowCallDuration'] as const;

/**
 * The options of the mode `options` does not choose, when it chooses one: the rate-mode options when it sets
 * `failureThreshold`, `failureThreshold` when it turns rate mode on, else none. A registry drops them from its
 * defaults before laying an entry over them, so an entry's mode wins over the defaults' mode.
 */
export function optionsOfOtherMode(options: object): readonly string[] {
  const has = (key: string) => (options as Record<string, unknown>)[key] !== undefined;
  if (RATE_SWITCHES.some(has)) return ['failureThreshold'];
  if (has('failureThreshold')) return [...RATE_SWITCHES, ...RATE_ONLY];
  return [];
}
const PERCENT = 'a percent greater than 0 and at most 100';

function capped(openMs: number | null, most: number): number | null {
  return openMs === null ? null : Math.min(openMs, most);
}

/**
 * Validates and resolves circuit breaker options. Problems are recorded on `checker`; the caller throws.
 * Defaults: failureThreshold 5, timeout 60s, successThreshold 2, halfOpenMaxCalls 1; in rate mode a window of
 * the last 100 calls, minimumCalls 10 (at most the count window's size), failureRateThreshold 50,
 * slowCallRateThreshold 100.
 */
export function resolveCircuitBreakerOptions(
  checker: OptionsChecker,
): ResolvedCircuitBreakerOptions {
  checker.onlyKnown(CIRCUIT_BREAKER_OPTION_KEYS);
  const rateMode = RATE_SWITCHES.some((key) => checker.raw(key) !== undefined);
  if (rateMode && checker.raw('failureThreshold') !== undefined)
    checker.fail(
      'failureThreshold',
      'to be left out in rate mode (failureRateThreshold or slowCallDuration given)',
    );
  if (!rateMode)
    for (const key of RATE_ONLY)
      if (checker.raw(key) !== undefined)
        checker.fail(key, 'only with failureRateThreshold or slowCallDuration (rate mode)');
  const timeout = checker.duration('timeout', 60_000);
  const maxTimeout = checker.duration('maxTimeout', timeout);
  if (maxTimeout < timeout) checker.fail('maxTimeout', `at least timeout (${timeout} ms)`);
  let initialState = closedSnapshot();
  const rawInitial = checker.raw('initialState');
  if (rawInitial !== undefined) {
    try {
      const parsed = parseSnapshot(rawInitial);
      if (typeof parsed === 'string') checker.fail('initialState', parsed);
      // An open period past what a breaker ever sets (a failure's retryAfter may exceed maxTimeout, up to the
      // longest timer) is cut to that: 1e15 ms would keep the circuit open for good.
      else {
        initialState = { ...parsed, openMs: capped(parsed.openMs, MAX_DURATION_MS) };
        if (parsed.backoffMs !== undefined)
          initialState.backoffMs = Math.min(parsed.backoffMs, MAX_DURATION_MS);
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) checker.problems.push(checker.prefix + problem);
    }
  }
  return {
    failureThreshold: rateMode ? Infinity : checker.integer('failureThreshold', 5, 1),
    rate: rateMode ? resolveRateOptions(checker) : undefined,
    timeout,
    maxTimeout: Math.max(timeout, maxTimeout),
    successThreshold: checker.integer('successThreshold', 2, 1),
    halfOpenMaxCalls: checker.integer('halfOpenMaxCalls', 1, 1),
    exceptions: checker.errorClasses('exceptions'),
    isFailureResult: checker.fn('isFailureResult'),
    onStateChange: checker.fn('onStateChange'),
    // On a null prototype: the breaker takes `window` out of it, and one set on Object.prototype is not saved state.
    initialState: Object.assign(Object.create(null) as CircuitSnapshot, initialState),
  };
}

function resolveRateOptions(checker: OptionsChecker): ResolvedRateOptions {
  const slow = checker.raw('slowCallDuration');
  const window = resolveWindow(checker);
  // A count window smaller than the default minimum is judged once full, not refused for an option never given.
  const most = 'calls' in window ? window.calls : Infinity;
  const minimumCalls = checker.integer('minimumCalls', Math.min(10, most), 1);
  if (minimumCalls > most) checker.fail('minimumCalls', `at most the window's ${most} calls`);
  return {
    failureRateThreshold: percent(checker, 'failureRateThreshold', 50),
    slowCallRateThreshold: percent(checker, 'slowCallRateThreshold', 100),
    slowCallDuration:
      slow === undefined ? Infinity : checker.duration('slowCallDuration', Infinity),
    minimumCalls,
    window,
  };
}

function percent(checker: OptionsChecker, key: string, fallback: number): number {
  const value = checker.raw(key);
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value > 0 && value <= 100) return value;
  checker.fail(key, PERCENT);
  return fallback;
}

const WINDOW_RULE = '{ calls: a positive integer } or { time: a duration, buckets?: 1 to 1000 }';

function resolveWindow(checker: OptionsChecker): ResolvedRateOptions['window'] {
  const raw = checker.raw('slidingWindow');
  if (raw === undefined) return { calls: 100 };
  if (!isPlainObject(raw)) {
    checker.fail('slidingWindow', WINDOW_RULE);
    return { calls: 100 };
  }
  const inner = new OptionsChecker(raw, 'slidingWindow.');
  const hasCalls = inner.raw('calls') !== undefined;
  const hasTime = inner.raw('time') !== undefined;
  if (hasCalls === hasTime) {
    checker.problems.push(`slidingWindow: expected ${WINDOW_RULE}, got ${describeValue(raw)}`);
    return { calls: 100 };
  }
  let window: ResolvedRateOptions['window'];
  if (hasCalls) {
    inner.onlyKnown(['calls']);
    window = { calls: inner.integer('calls', 100, 1, 1_000_000) };
  } else {
    inner.onlyKnown(['time', 'buckets']);
    const time = inner.duration('time', 60_000);
    const buckets = inner.integer('buckets', 10, 1, 1_000);
    if (time <= 0 || time / buckets < 1)
      inner.fail('time', `a duration of at least one ms per bucket (${buckets} buckets)`);
    window = { time: Math.min(Math.max(time, buckets), MAX_DURATION_MS), buckets };
  }
  checker.problems.push(...inner.problems);
  return window;
}
