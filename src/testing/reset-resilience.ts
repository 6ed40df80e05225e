import {
  CircuitBreaker,
  ConfigError,
  ResilienceRegistry,
  ConcurrencyLimiter,
  HedgePolicy,
  isInstance,
  RateLimiter,
  RetryBudget,
  RetryPolicy,
  Timeout,
  registry as defaultRegistry,
  releaseIdleTimers,
  type Policy,
} from '../index.js';

/**
 * Puts every engine `target` holds back to its initial state, as `engines()` lists them: those it made (named and
 * inline), engines given to it as configuration entries, and engines given to decorators as instances once a
 * method has resolved them through it. It also lets go of dspu's idle timers, so no state leaks from one test into
 * the next and no timer of dspu's outlives a test file:
 *
 * - circuit breakers: CLOSED, counters and window cleared, the open backoff back to `timeout`;
 * - rate limiters: the bucket full, queued calls rejected with `PolicyResetError`;
 * - concurrency limiters (adaptive too): queued calls rejected with `PolicyResetError`, permits forgotten, an
 *   adaptive limit back to its initial value;
 * - timeouts: calls in flight end with `PolicyResetError` (their signal aborts);
 * - retries: a call waiting out its backoff ends with `PolicyResetError`, with no further try;
 * - retry budgets (the registry's, and those its retry and hedge policies use): counts forgotten;
 * - hedges: latency samples forgotten, no further hedge sent for calls in flight.
 *
 * Policies of your own are left as they are. Stores shared by a fleet (`dspu/redis`) keep their state: it is
 * not this process's.
 *
 * @param target - the registry to reset: the default registry when omitted; under NestJS,
 *   `app.get(ResilienceRegistry)` (or `moduleRef.get(ResilienceRegistry)`)
 * @throws ConfigError when `target` is not a `ResilienceRegistry`
 * @example
 * ```ts
 * import { resetResilience } from 'dspu/testing';
 *
 * afterEach(() => resetResilience());
 * ```
 */
export function resetResilience(target: ResilienceRegistry = defaultRegistry): void {
  if (!isInstance(target, ResilienceRegistry))
    throw ConfigError.invalid('resetResilience(registry)', 'a ResilienceRegistry', target);
  const budgets = new Set<RetryBudget>();
  for (const name of target.names('retryBudget')) budgets.add(target.retryBudget(name));
  for (const { engine } of target.engines()) {
    const budget = resetEngine(engine);
    if (budget !== undefined) budgets.add(budget);
  }
  for (const budget of budgets) budget.reset();
  releaseIdleTimers();
}

/** Resets a built-in engine; returns the retry budget it draws on, if any, to be reset once. */
function resetEngine(engine: Policy): RetryBudget | undefined {
  // A breaker whose state lives in a store (dspu/redis, fail-closed) may fail to reach it and reports that
  // itself (a storeError event); a test's afterEach must not end in an unhandled rejection for it.
  if (engine instanceof CircuitBreaker) engine.reset().catch(ignore);
  else if (
    engine instanceof RateLimiter ||
    engine instanceof ConcurrencyLimiter ||
    engine instanceof Timeout
  )
    engine.reset();
  else if (engine instanceof HedgePolicy) {
    engine.reset();
    return engine.budget instanceof RetryBudget ? engine.budget : undefined;
  } else if (engine instanceof RetryPolicy) {
    engine.reset();
    return engine.options.budget;
  }
  return undefined;
}

function ignore(): void {}
