import type { Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import { isPlainObject } from '../core/validate.js';
import { CircuitBreaker } from '../patterns/circuit-breaker/circuit-breaker.js';
import {
  optionsOfOtherMode,
  type CircuitBreakerOptions,
} from '../patterns/circuit-breaker/circuit-breaker.options.js';
import {
  limiterFromOptions,
  type AdaptiveConcurrencyEntry,
} from '../patterns/concurrency/adaptive/adaptive-concurrency-limiter.js';
import { ConcurrencyLimiter } from '../patterns/concurrency/concurrency-limiter.js';
import type { ConcurrencyLimiterOptions } from '../patterns/concurrency/concurrency.options.js';
import { FallbackPolicy, type FallbackHandler } from '../patterns/fallback/fallback.js';
import type { FallbackOptions } from '../patterns/fallback/fallback.options.js';
import { HedgePolicy } from '../patterns/hedge/hedge.js';
import type { HedgeOptions } from '../patterns/hedge/hedge.options.js';
import { RateLimiter } from '../patterns/rate-limit/rate-limiter.js';
import type { RateLimiterOptions } from '../patterns/rate-limit/rate-limiter.options.js';
import { RetryBudget } from '../patterns/retry-budget/retry-budget.js';
import type { RetryBudgetOptions } from '../patterns/retry-budget/retry-budget.options.js';
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
   * engine of the same name it replaces, when the registry is reconfigured; `resources` resolves the names of
   * shared resources the options refer to (a retry's `budget`), absent outside a registry.
   */
  create(options: O, previous: Policy | undefined, resources?: SharedResources): E;
  /** Merges an entry over the kind's `defaults`. */
  merge(defaults: unknown, entry: unknown): unknown;
  /** False for a kind that is always inline (a fallback needs its handler): no named entries. */
  readonly named: N;
}

/**
 * How the registry makes the shared resources that policies name in their options: a resource is no stage of a
 * pipeline, just one instance per name that every policy naming it shares.
 * @typeParam R - the resource
 * @typeParam O - what a named entry holds (the options)
 */
export interface ResourceKindSpec<R extends object = object, O = never> {
  /** The resource class, to recognise instances given as configuration entries. */
  readonly engine: abstract new (...args: never[]) => R;
  /** Makes a resource from options already merged over the kind's defaults (throws ConfigError). */
  create(options: O): R;
  /** Merges an entry over the kind's `defaults`. */
  merge(defaults: unknown, entry: unknown): unknown;
}

/** Resolves the name of a shared resource (throws ConfigError for a name that is not configured). */
export interface SharedResources {
  resource<K extends ResourceKind>(kind: K, name: string): ResourceOf<K>;
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

function withoutKeys(value: Record<string, unknown>, keys: readonly string[]) {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));
}

// Only plain objects merge: anything else (an entry inheriting its options) is kept as it is, for the engine to
// refuse, rather than flattened into a plain object that drops what it inherits.
function isObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value);
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
    create: (options: RetryOptions, _previous, resources) =>
      new RetryPolicy(withResolvedBudget(options, resources)),
    merge: mergeObjects,
    named: true as const,
  }),
  hedge: spec({
    engine: HedgePolicy,
    create: (options: HedgeOptions, _previous, resources) =>
      new HedgePolicy(withResolvedBudget(options, resources)),
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
    // An entry's mode (consecutive or rate) wins over the defaults' mode.
    merge: (defaults, entry) =>
      isObject(defaults) && isObject(entry)
        ? mergeObjects(withoutKeys(defaults, optionsOfOtherMode(entry)), entry)
        : mergeObjects(defaults, entry),
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
    create: (options: ConcurrencyLimiterOptions | AdaptiveConcurrencyEntry) =>
      limiterFromOptions(options),
    // A fixed limit and its store in the defaults are no options of an entry whose limit adapts.
    merge: (defaults, entry) =>
      isObject(defaults) && isObject(entry) && Object.hasOwn(entry, 'adaptive')
        ? mergeObjects(withoutKeys(defaults, ['limit', 'store']), entry)
        : mergeObjects(defaults, entry),
    named: true as const,
  }),
};

/** The shared resources a registry configures by name, which policies refer to in their options. */
export const RESOURCE_KINDS = {
  retryBudget: {
    engine: RetryBudget,
    create: (options: RetryBudgetOptions) => new RetryBudget(options),
    merge: mergeObjects,
  } satisfies ResourceKindSpec<RetryBudget, RetryBudgetOptions>,
};

/** The kinds of shared resource: `'retryBudget'`. */
export type ResourceKind = keyof typeof RESOURCE_KINDS;

/** The class of a resource kind: `ResourceOf<'retryBudget'>` is `RetryBudget`. */
export type ResourceOf<K extends ResourceKind> = ReturnType<(typeof RESOURCE_KINDS)[K]['create']>;

/** What a named entry of a resource kind holds: `ResourceOptionsOf<'retryBudget'>` is `RetryBudgetOptions`. */
export type ResourceOptionsOf<K extends ResourceKind> = Parameters<
  (typeof RESOURCE_KINDS)[K]['create']
>[0];

/** The spec of resource `kind`, or undefined for a name that is not a resource kind. */
export function resourceSpec(kind: string): ResourceKindSpec<object, unknown> | undefined {
  return Object.hasOwn(RESOURCE_KINDS, kind) ? RESOURCE_KINDS[kind as ResourceKind] : undefined;
}

// A retry entry names its budget; the registry hands the policy the shared instance of that name.
function withResolvedBudget<O extends RetryOptions | HedgeOptions>(
  options: O,
  resources: SharedResources | undefined,
): O {
  let named: { options: O; name: string } | undefined;
  try {
    if (resources !== undefined && isObject(options) && Object.hasOwn(options, 'budget')) {
      const budget = (options as { budget?: unknown }).budget;
      if (typeof budget === 'string') named = { options: { ...options }, name: budget };
    }
  } catch {
    return options; // unreadable options: the policy's own checks report them
  }
  if (named === undefined) return options;
  try {
    return { ...named.options, budget: resources!.resource('retryBudget', named.name) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.problems.map((problem) => `budget: ${problem}`));
  }
}

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
