import type { Duration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { OptionsChecker } from '../../core/validate.js';
import type { TokenBucketStore } from './token-bucket-store.js';

/** Options of {@link RateLimiter} and `@RateLimited`. */
export interface RateLimiterOptions {
  /** Tokens added per `per` (may be fractional: `0.5` per `'1s'` is one every two seconds). */
  rate: number;
  /** The period `rate` refers to. Default `'1s'`. */
  per?: Duration;
  /**
   * Most tokens the bucket holds, i.e. the largest burst. Default `rate` (one `per` worth of burst), but at
   * least 1 so that a slow limiter (`rate: 0.5`) can still grant one token. Must be at least 1.
   */
  capacity?: number;
  /** Where the bucket lives. Default: a new {@link MemoryTokenBucketStore} (this process only). */
  store?: TokenBucketStore;
}

/** Rate limiter options with defaults applied and `per` in ms. */
export interface ResolvedRateLimiterOptions {
  readonly rate: number;
  readonly per: number;
  readonly capacity: number;
}

/** Per-call options of {@link RateLimiter.run} and {@link RateLimiter.acquire}. */
export interface RateLimitCallOptions {
  /** Tokens this call costs. Default 1; must be greater than 0 and at most the capacity. */
  tokens?: number;
  /** Fail with `RateLimitExceededError` instead of waiting longer than this. Default: wait as long as it takes. */
  maxWait?: Duration;
  /** Leaves the queue at once when aborted, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/** The option names `RateLimiterOptions` accepts. */
export const RATE_LIMITER_OPTION_KEYS = ['rate', 'per', 'capacity', 'store'] as const;

/**
 * Validates and resolves rate limiter options (except `store`, which the engine checks). Problems are
 * recorded on `checker`; the caller throws.
 */
export function resolveRateLimiterOptions(checker: OptionsChecker): ResolvedRateLimiterOptions {
  checker.onlyKnown(RATE_LIMITER_OPTION_KEYS);
  if (checker.raw('rate') === undefined) checker.fail('rate', 'a finite number greater than 0');
  const rate = checker.positiveNumber('rate', 1);
  const per = checker.duration('per', 1_000);
  if (per <= 0) checker.fail('per', 'a duration greater than 0');
  const rawCapacity = checker.raw('capacity');
  let capacity = Math.max(1, rate);
  if (rawCapacity !== undefined) {
    if (typeof rawCapacity === 'number' && rawCapacity >= 1 && Number.isFinite(rawCapacity))
      capacity = rawCapacity;
    else checker.fail('capacity', 'a finite number of at least 1');
  }
  const store = checker.raw('store');
  if (store !== undefined && !hasTake(store))
    checker.fail('store', 'a TokenBucketStore (an object with a take() method)');
  return { rate, per: per > 0 ? per : 1_000, capacity };
}

// Answers false, rather than throwing, for a revoked Proxy or a `take` getter that throws.
function hasTake(store: unknown): boolean {
  try {
    return typeof (store as TokenBucketStore | null)?.take === 'function';
  } catch {
    return false;
  }
}

/** The ConfigError for a token count that could never be granted, or undefined when `tokens` is valid. */
export function checkTokens(tokens: unknown, capacity: number): ConfigError | undefined {
  if (typeof tokens === 'number' && tokens > 0 && tokens <= capacity) return undefined;
  return ConfigError.invalid(
    'tokens',
    `a number greater than 0 and at most the capacity (${capacity})`,
    tokens,
  );
}
