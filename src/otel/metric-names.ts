/**
 * Names of the instruments and attributes `instrument()` records, following the OpenTelemetry naming rules:
 * lowercase, dot-separated, under the `dspu.` namespace, units in UCUM (`ms`, `{call}`).
 */
export const METRIC = {
  /** Counter of calls by policy kind, name and outcome. Unit `{call}`. */
  calls: 'dspu.calls',
  /** Histogram of tries per retried call (1 for a first-try success). Unit `{attempt}`. */
  retryAttempts: 'dspu.retry.attempts',
  /** Histogram of the time a throttled call waits for rate-limiter tokens. Unit `ms`. */
  rateLimiterWait: 'dspu.rate_limiter.wait.duration',
  /** Observable gauge of each circuit breaker's state: 0 closed, 1 half-open, 2 open. */
  circuitBreakerState: 'dspu.circuit_breaker.state',
  /** Observable gauge of a rate-mode breaker's failure rate over its window, as a fraction (0–1). Unit `1`. */
  circuitBreakerFailureRate: 'dspu.circuit_breaker.failure_rate',
  /** Observable gauge of a rate-mode breaker's slow-call rate over its window, as a fraction (0–1). Unit `1`. */
  circuitBreakerSlowCallRate: 'dspu.circuit_breaker.slow_call_rate',
  /** Counter of circuit breaker state changes, by the state left and the state entered. */
  circuitBreakerTransitions: 'dspu.circuit_breaker.transitions',
  /** Counter of extra attempts a hedge sent (hedges: the first attempt is not counted). Unit `{attempt}`. */
  hedgeAttempts: 'dspu.hedge.attempts',
  /**
   * Counter of hedged calls a hedge won (an extra attempt answered first). A separate counter, not an outcome
   * of `dspu.hedge.attempts`: wins are a subset of the hedges sent, and a metric's attribute values must add up
   * to something meaningful. Their ratio is how often a hedge paid off. Unit `{call}`.
   */
  hedgeWins: 'dspu.hedge.wins',
} as const;

/** Attribute keys: all of them low-cardinality (policy names come from code or configuration). */
export const ATTRIBUTE = {
  /**
   * The policy kind: `retry`, `circuitBreaker`, `rateLimiter`, `timeout`, `concurrency`, `fallback`, `hedge`.
   */
  kind: 'dspu.policy.kind',
  /** The registry name of the policy, or `Class.method` for a decorator's inline policy. */
  name: 'dspu.policy.name',
  /** How the call ended for that policy: see {@link Outcome}. */
  outcome: 'dspu.outcome',
  /** The state a circuit breaker left (`closed`, `open`, `half_open`). */
  fromState: 'dspu.circuit_breaker.from_state',
  /** The state a circuit breaker entered (`closed`, `open`, `half_open`). */
  toState: 'dspu.circuit_breaker.to_state',
} as const;

/**
 * The value of `dspu.outcome`:
 * - `success`: the call succeeded (retry: possibly after retries; circuit breaker: counted as a success);
 * - `failure`: the call failed (retry: gave up; circuit breaker: a counted or an ignored failure);
 * - `rejected`: the policy refused the call without running it (open circuit, rate limit `maxWait`,
 *   `tryAcquire` refused, concurrency queue full or `maxWait` reached);
 * - `timeout`: the call exceeded its time budget;
 * - `fallback`: the call failed and the fallback handler answered instead.
 */
export type Outcome = 'success' | 'failure' | 'rejected' | 'timeout' | 'fallback';

/** The number `dspu.circuit_breaker.state` reports for each state. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<string, number>> = Object.freeze({
  closed: 0,
  half_open: 1,
  open: 2,
});
