import {
  ConfigError,
  OptionsChecker,
  RetryBudget,
  type CircuitBreaker,
  type ConcurrencyLimiter,
  type NamedEntries,
  type RateLimiter,
  type RateLimiterOptions,
  type ResilienceConfig,
  type RetryBudgetOptions,
  type RetryBudgetStore,
  type TokenBucketStore,
} from '../index.js';
import { RedisCircuitBreaker, type RedisCircuitBreakerOptions } from './redis-circuit-breaker.js';
import {
  RedisConcurrencyLimiter,
  type RedisConcurrencyLimiterOptions,
} from './redis-concurrency-limiter.js';
import type { RedisClient, RedisStoreOptions } from './redis-link.js';
import { RedisRetryBudgetStore } from './redis-retry-budget-store.js';
import { RedisTokenBucketStore } from './redis-token-bucket-store.js';
import { SUBSCRIBE_ON_FIRST_USE } from './subscription.js';

/** A rate limiter entry of a registry configuration that may name its store `'redis'`. */
export type RedisRateLimiterEntry = Omit<RateLimiterOptions, 'store'> & {
  store?: TokenBucketStore | 'redis';
};

/**
 * A circuit breaker entry of a registry configuration that may say `store: 'redis'`; such an entry may also set
 * the options of {@link RedisCircuitBreaker} (`trialLease`, `commandTimeout`, …).
 */
export type RedisCircuitBreakerEntry = RedisCircuitBreakerOptions<never> & { store?: 'redis' };

/**
 * A concurrency entry of a registry configuration that may say `store: 'redis'`; such an entry may also set the
 * options of {@link RedisConcurrencyLimiter} (`lease`, `commandTimeout`, …).
 */
export type RedisConcurrencyEntry = RedisConcurrencyLimiterOptions & { store?: 'redis' };

/** A retry budget entry of a registry configuration that may name its store `'redis'`: one budget per fleet. */
export type RedisRetryBudgetEntry = Omit<RetryBudgetOptions, 'store'> & {
  store?: RetryBudgetStore | 'redis';
};

/**
 * A registry configuration in which rate limiter, circuit breaker, concurrency and retry budget entries (and
 * their `defaults`) may say `store: 'redis'`.
 */
export type RedisAwareConfig = Omit<
  ResilienceConfig,
  'rateLimiter' | 'circuitBreaker' | 'concurrency' | 'retryBudget'
> & {
  readonly rateLimiter?: NamedEntries<Partial<RedisRateLimiterEntry>, RateLimiter>;
  readonly circuitBreaker?: NamedEntries<Partial<RedisCircuitBreakerEntry>, CircuitBreaker>;
  readonly concurrency?: NamedEntries<Partial<RedisConcurrencyEntry>, ConcurrencyLimiter>;
  readonly retryBudget?: NamedEntries<RedisRetryBudgetEntry, RetryBudget>;
};

type Build = (name: string, options: Record<string, unknown>) => unknown;

/**
 * Turns `store: 'redis'` in a registry configuration into policies shared through Redis on `client`, each
 * keyed by its entry's name, so the configuration stays plain data (JSON) and the client is given once. A
 * `store: 'redis'` in `defaults` applies to every named entry that sets no store of its own.
 *
 * - A rate limiter entry gets a {@link RedisTokenBucketStore} as its store.
 * - A circuit breaker or concurrency entry becomes a {@link RedisCircuitBreaker} or
 *   {@link RedisConcurrencyLimiter} built from the entry merged over the kind's defaults, which the registry
 *   then uses as it is.
 * - A retry budget entry becomes a `RetryBudget` on a {@link RedisRetryBudgetStore}: every retry policy of the
 *   fleet that names it draws on one budget.
 *
 * `options` apply to every store and engine made here (a breaker or limiter entry may override them). A breaker
 * or limiter made here opens its subscriber connection (a duplicate of `client`) on first use, so a
 * configuration that is validated, rejected or replaced without being used holds no connection. Quitting
 * `client` ends every subscriber made from it; `close()` on the instance (`registry.circuitBreaker(name)`) ends
 * one sooner. The registry closes nothing.
 *
 * @throws ConfigError listing, by path, every invalid option of the breakers and limiters made here (the
 *   registry reports the rest when it is configured)
 * @example
 * ```ts
 * registry.configure(
 *   withRedisStores(redis, {
 *     rateLimiter: { payments: { rate: 10, store: 'redis' }, github: { rate: 5000, per: '1h', store: 'redis' } },
 *     circuitBreaker: { defaults: { failureThreshold: 5 }, payments: { timeout: '30s', store: 'redis' } },
 *     concurrency: { reports: { limit: 4, store: 'redis' } },
 *     retryBudget: { upstream: { ratio: 0.2, store: 'redis' } },
 *   }),
 * );
 * registry.circuitBreaker('payments'); // a RedisCircuitBreaker: open in one process, open in all
 * ```
 */
export function withRedisStores(
  client: RedisClient,
  config: RedisAwareConfig,
  options?: RedisStoreOptions,
): ResilienceConfig {
  const problems: string[] = [];
  // Every user object is read once, here, into a plain copy; one that cannot be read is a problem by path.
  const shared = readEntry(options, 'options', problems) ?? {};
  const storeOptions = shared as RedisStoreOptions;
  const lazy = { ...shared, [SUBSCRIBE_ON_FIRST_USE]: true };
  const builders: Record<string, Build> = {
    rateLimiter: (name, entry) => ({
      ...entry,
      store: new RedisTokenBucketStore(client, name, storeOptions),
    }),
    circuitBreaker: (name, entry) =>
      new RedisCircuitBreaker(client, name, {
        ...lazy,
        ...(entry as RedisCircuitBreakerOptions<never>),
      }),
    concurrency: (name, entry) =>
      new RedisConcurrencyLimiter(client, name, {
        ...lazy,
        ...(entry as unknown as RedisConcurrencyLimiterOptions),
      }),
    retryBudget: (name, entry) =>
      new RetryBudget({ ...entry, store: new RedisRetryBudgetStore(client, name, storeOptions) }),
  };
  const top = readEntry(config, 'config', problems) ?? {};
  const result: Record<string, unknown> = { ...top };
  for (const [kind, build] of Object.entries(builders)) {
    const entries = isEntry(top[kind]) ? readEntry(top[kind], kind, problems) : undefined;
    if (entries !== undefined) result[kind] = withRedis(kind, entries, build, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result;
}

/**
 * The entries of one kind, each entry that says `store: 'redis'` (itself, or through `defaults`) replaced by
 * what `build` makes of it merged over the defaults, both without `store`. Other entries pass through for the
 * registry to check; what `build` rejects is added to `problems` by path.
 */
function withRedis(
  kind: string,
  entries: Record<string, unknown>,
  build: Build,
  problems: string[],
): Record<string, unknown> {
  const defaults = isEntry(entries.defaults)
    ? readEntry(entries.defaults, `${kind}.defaults`, problems)
    : entries.defaults;
  const shared = isEntry(defaults) && defaults.store === 'redis';
  const base = isEntry(defaults) ? withoutStore(defaults) : {};
  let optionsLeft = false;
  // fromEntries, not assignment: a "__proto__" name stays an entry, for the registry to reject.
  const result = Object.fromEntries(
    Object.entries(entries).map(([name, given]) => {
      if (name === 'defaults') return [name, shared ? base : (defaults ?? given)];
      const entry = isEntry(given) ? readEntry(given, `${kind}.${name}`, problems) : given;
      if (!isEntry(entry) || !(entry.store === 'redis' || (shared && entry.store === undefined))) {
        optionsLeft ||= isEntry(entry);
        return [name, entry];
      }
      try {
        return [name, build(name, { ...base, ...withoutStore(entry) })];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems.map((problem) => `${kind}.${name}.${problem}`));
        return [name, entry];
      }
    }),
  );
  // The registry checks defaults as options of their own (a limiter needs its rate, a Redis option is unknown
  // to it): pass them on only for the entries left to it, and not when naming the store was all they did.
  if (!optionsLeft || (shared && Object.keys(base).length === 0)) delete result.defaults;
  return result;
}

// Options as written in a configuration: a plain object (an engine given as an entry is not one).
function isEntry(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  try {
    const proto = Object.getPrototypeOf(value) as unknown;
    return proto === Object.prototype || proto === null;
  } catch {
    return true; // a Proxy that cannot be looked at: readEntry reports it
  }
}

/**
 * A plain copy of the options object at `path` (own string keys, each read once), undefined when absent. One
 * that is not an options object or cannot be read adds its problems and reads as undefined.
 */
function readEntry(
  value: unknown,
  path: string,
  problems: string[],
): Record<string, unknown> | undefined {
  const checker = new OptionsChecker(value, `${path}.`);
  if (checker.problems.length > 0) {
    problems.push(...checker.problems);
    return undefined;
  }
  if (value === undefined) return undefined;
  return Object.fromEntries(checker.keys().map((key) => [key, checker.raw(key)]));
}

function withoutStore(entry: Record<string, unknown>): Record<string, unknown> {
  const { store: _store, ...rest } = entry;
  return rest;
}
