/**
 * dspu: resilience patterns for async TypeScript.
 * @packageDocumentation
 * @module dspu
 */
export {
  ResilienceError,
  ConfigError,
  CircuitBreakerError,
  TimeoutError,
  RateLimitExceededError,
  ConcurrencyLimitError,
  BridgeError,
  HedgeLostError,
  PolicyResetError,
} from './core/errors.js';
export { type Duration, toMs } from './core/duration.js';
export { type Policy, type CallOptions, type Next, Invocation, isPolicy } from './core/policy.js';
export { withSignal } from './core/cancellation.js';
// Building blocks for policies and stores of your own (and for dspu's integrations, which use only this entry).
export { toError, retryAfterOf } from './core/errors.js';
export {
  OptionsChecker,
  splitOptions,
  checkAll,
  isInstance,
  type ErrorClassList,
} from './core/validate.js';
export { LinkedQueue, type QueueNode } from './core/linked-queue.js';
export { DeadlineQueue, releaseIdleTimers, type DeadlineEntry } from './core/deadline-queue.js';
export {
  callerSignal,
  currentSignal,
  currentAttempt,
  bindContext,
  enableAsyncContext,
  isAsyncContextEnabled,
} from './core/context.js';
export { EventEmitter, type Listener, type Unsubscribe, type AnyEvent } from './core/events.js';
export * from './patterns/retry/index.js';
export * from './patterns/hedge/index.js';
export * from './patterns/retry-budget/index.js';
export {
  runWithTimeout,
  runWithShield,
  drainShielded,
  shieldedCount,
  type TimeoutWork,
  type TimeoutOptions,
  type TimeoutCallOptions,
  type TimeoutEvents,
} from './patterns/timeout/index.js';
export * from './patterns/rate-limit/index.js';
export {
  CircuitState,
  type CircuitBreakerEvents,
  type CircuitBreakerCallOptions,
  type CircuitBreakerOptions,
  type ResolvedCircuitBreakerOptions,
  type ResolvedRateOptions,
  type SlidingWindowOptions,
  type CircuitSnapshot,
  windowMetrics,
  type WindowMetrics,
  type WindowSnapshot,
} from './patterns/circuit-breaker/index.js';
export * from './patterns/fallback/index.js';
export * from './patterns/concurrency/index.js';
export * from './bridge/index.js';
export * from './decorators/index.js';
export * from './registry/index.js';
