export { RateLimiter, type RateLimiterEvents } from './rate-limiter.js';
export {
  type RateLimiterOptions,
  type RateLimitCallOptions,
  type ResolvedRateLimiterOptions,
} from './rate-limiter.options.js';
export {
  MemoryTokenBucketStore,
  type TokenBucketStore,
  type TokenBucketSpec,
  type TakeResult,
} from './token-bucket-store.js';
