import type { Duration } from '../../core/duration.js';
import type { OptionsChecker } from '../../core/validate.js';
import type { ErrorClass } from '../retry/retry.options.js';
import {
  closedSnapshot,
  parseSnapshot,
  type CircuitSnapshot,
  type CircuitState,
} from './circuit-state.js';

/** Options of {@link CircuitBreaker} and `@CircuitBreaker`. */
export interface CircuitBreakerOptions<T = unknown> {
  /** Consecutive counted failures in CLOSED that open the circuit. Default 5. */
  failureThreshold?: number;
  /**
   * How long the circuit stays OPEN before a trial call is let through (HALF_OPEN): the open time, not a
   * deadline for calls (that is `@Timeout`). The name is the original library's. Default `'60s'`.
   */
  timeout?: Duration;
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

/** Circuit breaker options with defaults applied and `timeout` in ms. */
export interface ResolvedCircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly timeout: number;
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
  'timeout',
  'successThreshold',
  'halfOpenMaxCalls',
  'exceptions',
  'isFailureResult',
  'onStateChange',
  'initialState',
] as const;

/**
 * Validates and resolves circuit breaker options. Problems are recorded on `checker`; the caller throws.
 * Defaults: failureThreshold 5, timeout 60s, successThreshold 2, halfOpenMaxCalls 1.
 */
export function resolveCircuitBreakerOptions(
  checker: OptionsChecker,
): ResolvedCircuitBreakerOptions {
  checker.onlyKnown(CIRCUIT_BREAKER_OPTION_KEYS);
  let initialState = closedSnapshot();
  const rawInitial = checker.raw('initialState');
  if (rawInitial !== undefined) {
    const parsed = parseSnapshot(rawInitial);
    if (typeof parsed === 'string') checker.fail('initialState', parsed);
    else initialState = parsed;
  }
  return {
    failureThreshold: checker.integer('failureThreshold', 5, 1),
    timeout: checker.duration('timeout', 60_000),
    successThreshold: checker.integer('successThreshold', 2, 1),
    halfOpenMaxCalls: checker.integer('halfOpenMaxCalls', 1, 1),
    exceptions: checker.errorClasses('exceptions'),
    isFailureResult: checker.fn('isFailureResult'),
    onStateChange: checker.fn('onStateChange'),
    initialState,
  };
}
