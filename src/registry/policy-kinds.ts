import type { Duration } from '../core/duration.js';
import type { Policy } from '../core/policy.js';
import { CircuitBreaker } from '../patterns/circuit-breaker/circuit-breaker.js';
import type { CircuitBreakerOptions } from '../patterns/circuit-breaker/circuit-breaker.options.js';
import { ConcurrencyLimiter } from '../patterns/concurrency/concurrency-limiter.js';
import type { ConcurrencyLimiterOptions } from '../patterns/concurrency/concurrency.options.js';
import { FallbackPolicy, type FallbackHandler } from '../patterns/fallback/fallback.js';
import type { FallbackOptions } from '../patterns/fallback/fallback.options.js';
import { HedgePolicy } from '../patterns/hedge/hedge.js';
import type { HedgeOptions } from '../patterns/hedge/hedge.options.js';
import { RateLimiter } from '../patterns/rate-limit/rate-limiter.js';
import type { RateLimiterOptions } from '../patterns/rate-limit/rate-limiter.options.js';
import { RetryPolicy } from '../patterns/retry/retry.js';
import type { RetryOptions } from '../patterns/retry/retry.options.js';
import { Timeout } from '../patterns/timeout/timeout.js';
import type { TimeoutOptions } from '../patterns/timeout/timeout.options.js';

/**
 * How the registry makes, recognises and merges the engines of one policy kind.
 * @typeParam E - the engine
 * @typeParam O - what a named entry holds (the options)
 * @typeParam N - whether named entries exist (false for a kind that is always inline)
 */
export interface PolicyKindSpec<E extends Policy = Policy, O = never, N extends boolean = boolean> {
  /** The engine class, to recognise instances given to decorators or as configuration entries. */
  readonly engine: abstract new (...args: never[]) => E;
  /**
   * Makes an engine from options already merged over the kind's defaults (throws ConfigError). `previous` is the
   * engine of the same name it replaces, when the registry is reconfigured.
   */
  create(options: O, previous: Policy | undefined): E;
  /** Merges an entry over the kind's `defaults`. */
  merge(defaults: unknown, entry: unknown): unknown;
  /** False for a kind that is always inline (a fallback needs its handler): no named entries. */
  readonly named: N;
}

function spec<E extends Policy, O, N extends boolean>(
  definition: PolicyKindSpec<E, O, N>,
): PolicyKindSpec<E, O, N> {
  return definition;
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

/**
 * Every built-in policy kind, **in the canonical order**, outermost first: adding a policy is one line here at
 * its place. Why this order: Retry outside CircuitBreaker so an open circuit ends retrying at once; Hedge inside
 * Retry (a hedged call fails only when every attempt failed) and outside the breaker, limiters and timeout, so
 * each attempt is counted, limited and timed on its own; the breaker
 * outside RateLimited so a rejected call spends no token; Timeout inside Retry so each try gets its own deadline;
 * Concurrency innermost so a permit is held only while the method runs.
 */
export const POLICY_KINDS = {
  fallback: spec({
    engine: FallbackPolicy,
    create: (options: { handler: FallbackHandler<never, unknown>; options: FallbackOptions }) =>
      new FallbackPolicy(options.handler, options.options),
    merge: (_defaults, entry) => entry,
    named: false as const,
  }),
  retry: spec({
    engine: RetryPolicy,
    create: (options: RetryOptions) => new RetryPolicy(options),
    merge: mergeObjects,
    named: true as const,
  }),
  hedge: spec({
    engine: HedgePolicy,
    create: (options: HedgeOptions) => new HedgePolicy(options),
    merge: mergeObjects,
    named: true as const,
  }),
  circuitBreaker: spec({
    engine: CircuitBreaker,
    // A reconfigured breaker keeps its state: an open circuit stays open under new thresholds, for the new
    // open time (the length of the current open period is what was reconfigured).
    create: (options: CircuitBreakerOptions, previous) =>
      new CircuitBreaker(
        previous instanceof CircuitBreaker
          ? { ...options, initialState: { ...previous.toJSON(), openMs: null } }
          : options,
      ),
    merge: mergeObjects,
    named: true as const,
  }),
  rateLimiter: spec({
    engine: RateLimiter,
    create: (options: RateLimiterOptions) => new RateLimiter(options),
    merge: mergeObjects,
    named: true as const,
  }),
  timeout: spec({
    engine: Timeout,
    create: (options: Duration | TimeoutOptions) => new Timeout(options),
    // A timeout entry is a duration or `{ timeout }`: it merges as a whole.
    merge: (defaults, entry) => entry ?? defaults,
    named: true as const,
  }),
  concurrency: spec({
    engine: ConcurrencyLimiter,
    create: (options: ConcurrencyLimiterOptions) => new ConcurrencyLimiter(options),
    merge: mergeObjects,
    named: true as const,
  }),
};

/** The kinds of policy a method can carry, one per decorator. */
export type PolicyKind = keyof typeof POLICY_KINDS;

/** The engine class of a policy kind: `EngineOf<'retry'>` is `RetryPolicy`. */
export type EngineOf<K extends PolicyKind> = ReturnType<(typeof POLICY_KINDS)[K]['create']>;

/** What a named entry of a kind holds: `OptionsOf<'retry'>` is `RetryOptions`. */
export type OptionsOf<K extends PolicyKind> = Parameters<(typeof POLICY_KINDS)[K]['create']>[0];

/** The kinds that have named entries in a registry's configuration. */
export type NamedKind = {
  [K in PolicyKind]: (typeof POLICY_KINDS)[K]['named'] extends true ? K : never;
}[PolicyKind];

/** The spec of `kind`, or undefined for a name that is not a built-in kind. */
export function kindSpec(kind: string): PolicyKindSpec<Policy, unknown> | undefined {
  return Object.hasOwn(POLICY_KINDS, kind) ? POLICY_KINDS[kind as PolicyKind] : undefined;
}
