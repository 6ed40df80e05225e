export { gatherWithLimit, type Task, type TaskResult, type Tasks } from './gather.js';
export { mapWithLimit, type LimitedMapper } from './map-with-limit.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyCallOptions,
  type ConcurrencyLimiterEvents,
} from './concurrency-limiter.js';
export { type Permit, type PermitStore } from './permit-store.js';
export {
  type GatherOptions,
  type MapWithLimitOptions,
  type ConcurrencyLimiterOptions,
  type ResolvedConcurrencyLimiterOptions,
} from './concurrency.options.js';
export { type ItemSource } from './limited-run.js';
