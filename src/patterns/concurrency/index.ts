export { gatherWithLimit, type Task, type TaskResult, type Tasks } from './gather.js';
export { mapWithLimit, type LimitedMapper } from './map-with-limit.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyCallOptions,
  type ConcurrencyLimiterEvents,
} from './concurrency-limiter.js';
export { type Permit, type PermitStore, type PermitOutcome } from './permit-store.js';
export {
  type GatherOptions,
  type MapWithLimitOptions,
  type ConcurrencyLimiterOptions,
  type ResolvedConcurrencyLimiterOptions,
} from './concurrency.options.js';
export { type ItemSource } from './limited-run.js';
export {
  AdaptiveConcurrencyLimiter,
  type AdaptiveConcurrencyLimiterEvents,
  type AdaptiveConcurrencyEntry,
} from './adaptive/adaptive-concurrency-limiter.js';
export {
  type AdaptiveConcurrencyOptions,
  type AdaptiveAlgorithm,
  type ResolvedAdaptiveConcurrencyOptions,
} from './adaptive/adaptive.options.js';
