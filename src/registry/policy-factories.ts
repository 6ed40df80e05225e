import { ConfigError } from '../core/errors.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../patterns/circuit-breaker/index.js';
import {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
} from '../patterns/concurrency/index.js';
import { FallbackPolicy, type FallbackOptions } from '../patterns/fallback/index.js';
import { RateLimiter, type RateLimiterOptions } from '../patterns/rate-limit/index.js';
import { RetryPolicy } from '../patterns/retry/index.js';
import { Timeout } from '../patterns/timeout/index.js';
import type { PolicyKind } from './policy-kind.js';

/** How the registry makes, recognises and merges the engines of one policy kind. */
export interface PolicyFactory {
  /** The engine class, to recognise instances passed to decorators or given as configuration entries. */
  readonly engine: abstract new (...args: never[]) => object;
  /** Makes an engine from options (already merged over the kind's defaults); throws ConfigError. */
  create(options: unknown, previous?: object): object;
  /** Merges an entry over the kind's defaults. */
  merge(defaults: unknown, entry: unknown): unknown;
}

function mergeObjects(defaults: unknown, entry: unknown): unknown {
  if (defaults === undefined) return entry;
  if (entry === undefined) return defaults;
  if (isObject(defaults) && isObject(entry)) return { ...defaults, ...entry };
  return entry;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A timeout entry is a duration, or { timeout }; it merges as a whole.
function mergeTimeout(defaults: unknown, entry: unknown): unknown {
  return entry ?? defaults;
}

/** The factories of every policy kind. */
export const POLICY_FACTORIES: Readonly<Partial<Record<PolicyKind, PolicyFactory>>> = {
  retry: {
    engine: RetryPolicy,
    create: (options) => new RetryPolicy(options as never),
    merge: mergeObjects,
  },
  circuitBreaker: {
    engine: CircuitBreaker,
    // A reconfigured breaker keeps its state: an open circuit stays open under new thresholds.
    create: (options, previous) =>
      new CircuitBreaker(
        previous instanceof CircuitBreaker
          ? { ...(options as CircuitBreakerOptions), initialState: previous.toJSON() }
          : (options as CircuitBreakerOptions),
      ),
    merge: mergeObjects,
  },
  rateLimiter: {
    engine: RateLimiter,
    create: (options) => new RateLimiter(options as RateLimiterOptions),
    merge: mergeObjects,
  },
  concurrency: {
    engine: ConcurrencyLimiter,
    create: (options) => new ConcurrencyLimiter(options as ConcurrencyLimiterOptions),
    merge: mergeObjects,
  },
  fallback: {
    engine: FallbackPolicy,
    create: (options) => {
      const { handler, options: fallbackOptions } = options as {
        handler: never;
        options: FallbackOptions;
      };
      return new FallbackPolicy(handler, fallbackOptions);
    },
    merge: (_defaults, entry) => entry,
  },
  timeout: {
    engine: Timeout,
    create: (options) => {
      if (options === undefined) throw ConfigError.invalid('timeout', 'a duration', options);
      return new Timeout(options as never);
    },
    merge: mergeTimeout,
  },
};
