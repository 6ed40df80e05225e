import {
  CircuitBreaker as CircuitBreakerEngine,
  type CircuitBreakerOptions,
} from '../patterns/circuit-breaker/index.js';
import { callableClass } from './callable-class.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function circuitBreakerDecorator<R = any>(
  policy: CircuitBreakerOptions<R> | PolicyName<'circuitBreaker'> | CircuitBreakerEngine<R> = {},
): ResilienceDecorator<R> {
  const source = sourceOf(
    policy,
    CircuitBreakerEngine,
    (options) => new CircuitBreakerEngine(options as CircuitBreakerOptions<R>),
  );
  return policyDecorator({ kind: 'circuitBreaker', source });
}

/**
 * A circuit breaker: `new CircuitBreaker(options)` as a class, `@CircuitBreaker(options | name | instance)` as a
 * decorator — one export, so `instanceof CircuitBreaker` holds either way. Inline options give one breaker per
 * class and method, shared by all instances; a name shares the registry's breaker; an instance shares itself.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 5, timeout: '60s' });
 * await breaker.protect(() => externalApi.call());
 *
 * class Payments {
 *   @CircuitBreaker('payments')
 *   async pay() {}
 * }
 * ```
 * @class
 */
export const CircuitBreaker = callableClass(CircuitBreakerEngine, circuitBreakerDecorator);
/** An instance of {@link CircuitBreaker}; `R` is the result type `isFailureResult` judges. */
export type CircuitBreaker<R = unknown> = CircuitBreakerEngine<R>;
