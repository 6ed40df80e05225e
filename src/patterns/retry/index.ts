export {
  retry,
  RetryPolicy,
  type RetryEvents,
  type RetryCallOptions,
  type Retried,
} from './retry.js';
export {
  BackoffStrategy,
  type RetryOptions,
  type Jitter,
  type ErrorClass,
  type ResolvedRetryOptions,
} from './retry.options.js';
