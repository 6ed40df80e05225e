export {
  CircuitBreaker,
  type CircuitBreakerEvents,
  type CircuitBreakerCallOptions,
} from './circuit-breaker.js';
export {
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
  type ResolvedRateOptions,
  type SlidingWindowOptions,
} from './circuit-breaker.options.js';
export { windowMetrics, type WindowMetrics, type WindowSnapshot } from './sliding-window.js';
export { CircuitState, type CircuitSnapshot } from './circuit-state.js';
