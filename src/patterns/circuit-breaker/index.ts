export {
  CircuitBreaker,
  type CircuitBreakerEvents,
  type CircuitBreakerCallOptions,
} from './circuit-breaker.js';
export {
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
} from './circuit-breaker.options.js';
export { CircuitState, type CircuitSnapshot } from './circuit-state.js';
