import { describeValue } from '../core/errors.js';
import { ConfigError } from '../core/errors.js';
import type { Duration } from '../core/duration.js';
import { isInstance, isPlainObject, readOwnProperties } from '../core/validate.js';
import type {
  ConcurrencyLimiter,
  ConcurrencyLimiterOptions,
} from '../patterns/concurrency/index.js';
import type { CircuitBreaker, CircuitBreakerOptions } from '../patterns/circuit-breaker/index.js';
import type { RateLimiter, RateLimiterOptions } from '../patterns/rate-limit/index.js';
import type { RetryOptions, RetryPolicy } from '../patterns/retry/index.js';
import type { Timeout, TimeoutOptions } from '../patterns/timeout/index.js';
import { POLICY_FACTORIES } from './policy-factories.js';
import { orderProblem, type PolicyKind } from './policy-kind.js';

/**
 * Entries of one kind: `defaults` (merged under every options entry) and one entry per name, either options `T`
 * or an engine `E` already built, used as it is.
 */
export type NamedEntries<T, E = never> = { readonly defaults?: T } & {
  readonly [name: string]: T | E | undefined;
};

/**
 * What `registry.configure()` accepts: plain objects, as they come from JSON, where a named entry may also be
 * an engine of its kind.
 */
export interface ResilienceConfig {
  readonly retry?: NamedEntries<RetryOptions, RetryPolicy>;
  readonly circuitBreaker?: NamedEntries<CircuitBreakerOptions, CircuitBreaker>;
  readonly rateLimiter?: NamedEntries<RateLimiterOptions, RateLimiter>;
  readonly timeout?: NamedEntries<Duration | TimeoutOptions, Timeout>;
  readonly concurrency?: NamedEntries<ConcurrencyLimiterOptions, ConcurrencyLimiter>;
  /** The order policies compose in, outermost first, for every method resolved through this registry. */
  readonly order?: readonly PolicyKind[];
}

/** The kinds that can be configured by name (a fallback is always inline: it needs a handler). */
const CONFIGURABLE_KINDS: readonly PolicyKind[] = [
  'retry',
  'circuitBreaker',
  'rateLimiter',
  'timeout',
  'concurrency',
];

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** A configuration checked in full: every kind's entries, and the order. */
export interface ParsedConfig {
  readonly kinds: Map<PolicyKind, Map<string, unknown>>;
  readonly order: readonly PolicyKind[] | undefined;
}

/**
 * Checks a whole configuration and lists every problem by path in one ConfigError. Each entry is checked by
 * building its engine once from the entry merged over the kind's defaults, so the rules are the engines' own;
 * an entry that is an engine of its kind checked its options when it was built.
 */
export function validateConfig(given: unknown): ParsedConfig {
  if (!isPlainObject(given)) throw ConfigError.invalid('config', 'an object', given);
  // Read once, whatever the object does (a Proxy, getters): what is checked is what is kept.
  const config = readOwnProperties(given, '', 'config');
  const problems: string[] = [];
  const kinds = new Map<PolicyKind, Map<string, unknown>>();
  const known = [...CONFIGURABLE_KINDS, 'order'];
  let order: readonly PolicyKind[] | undefined;
  for (const key of Reflect.ownKeys(config)) {
    const value = config[key];
    if (key === 'order') {
      const problem = orderProblem(value);
      if (problem) problems.push(`order: ${problem}`);
      else order = [...(value as PolicyKind[])];
      continue;
    }
    const factory = CONFIGURABLE_KINDS.includes(key as PolicyKind)
      ? POLICY_FACTORIES[key as PolicyKind]
      : undefined;
    if (!factory) {
      problems.push(`${String(key)}: unknown policy kind (known: ${known.join(', ')})`);
      continue;
    }
    if (!isPlainObject(value)) {
      problems.push(
        `${String(key)}: expected an object of named entries, got ${describeValue(value)}`,
      );
      continue;
    }
    const kind = key as PolicyKind;
    let named: Record<PropertyKey, unknown>;
    try {
      named = readOwnEntries(value, kind);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      continue;
    }
    const entries = new Map<string, unknown>();
    // Defaults that are an engine are reported once, on `defaults`, not again under every name.
    const defaults =
      Object.hasOwn(named, 'defaults') && !isEngine(named.defaults) ? named.defaults : undefined;
    for (const name of Reflect.ownKeys(named)) {
      if (typeof name !== 'string' || FORBIDDEN_NAMES.has(name)) {
        problems.push(`${kind}.${String(name)}: this name is not allowed`);
        continue;
      }
      const entry = named[name];
      if (isEngine(entry)) {
        // An engine is used as it is (it checked its options when built): only its kind and place can be wrong.
        if (name === 'defaults' || !isInstance(entry, factory.engine)) {
          const expected = name === 'defaults' ? 'options' : `options or a ${factory.engine.name}`;
          problems.push(ConfigError.invalid(`${kind}.${name}`, expected, entry).message);
        }
        entries.set(name, entry);
        continue;
      }
      // An object that is not plain options (a revoked Proxy, say) is not merged: the engine names it.
      const alien = typeof entry === 'object' && entry !== null && !isPlainObject(entry);
      const merged = name === 'defaults' || alien ? entry : factory.merge(defaults, entry);
      try {
        if (name !== 'defaults' || entry !== undefined) factory.create(merged);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // A defaults entry may be partial (a timeout default alone is fine); its problems show on the names.
        if (name === 'defaults' && kind === 'timeout' && entry === undefined) continue;
        problems.push(...error.problems.map((problem) => joinPath(kind, name, problem)));
      }
      entries.set(name, entry);
    }
    kinds.set(kind, entries);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { kinds, order };
}

// Any kind's engine, so an engine of the wrong kind is named as such rather than checked as options.
function isEngine(value: unknown): boolean {
  return CONFIGURABLE_KINDS.some((kind) => isInstance(value, POLICY_FACTORIES[kind]!.engine));
}

// A kind's entries, each options entry read once too, so a Proxy or a getter cannot change after the check.
function readOwnEntries(
  value: Record<PropertyKey, unknown>,
  kind: PolicyKind,
): Record<PropertyKey, unknown> {
  const named = readOwnProperties(value, kind);
  for (const name of Reflect.ownKeys(named)) {
    const entry = named[name];
    if (isPlainObject(entry)) named[name] = readOwnProperties(entry, `${kind}.${String(name)}`);
  }
  return named;
}

// `timeout.slow: expected a duration` reads better than `timeout.slow.timeout: …` for a bare duration entry.
function joinPath(kind: PolicyKind, name: string, problem: string): string {
  if (kind === 'timeout' && problem.startsWith('timeout: '))
    return `timeout.${name}: ${problem.slice(9)}`;
  return `${kind}.${name}.${problem}`;
}
