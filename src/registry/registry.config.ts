import { ConfigError, describeValue } from '../core/errors.js';
import { isPolicy, type Policy } from '../core/policy.js';
import { isInstance, isPlainObject, readOwnProperties } from '../core/validate.js';
import { orderProblem } from './policy-kind.js';
import {
  POLICY_KINDS,
  kindSpec,
  type EngineOf,
  type NamedKind,
  type OptionsOf,
  type PolicyKind,
} from './policy-kinds.js';

/**
 * Entries of one kind: `defaults` (merged under every options entry) and one entry per name, either options `T`
 * or an engine `E` already built, used as it is.
 */
export type NamedEntries<T, E = never> = { readonly defaults?: T } & {
  readonly [name: string]: T | E | undefined;
};

/** The configuration key of policies of your own (`@UsePolicy('name')`). */
export const CUSTOM_POLICIES = 'policies';

/**
 * What `registry.configure()` accepts: plain objects, as they come from JSON, where a named entry may also be
 * an engine of its kind. One key per kind with named entries (`retry`, `circuitBreaker`, `rateLimiter`,
 * `timeout`, `concurrency`), `policies` for policies of your own, and `order`.
 */
export type ResilienceConfig = {
  readonly [K in NamedKind]?: NamedEntries<OptionsOf<K>, EngineOf<K>>;
} & {
  /** Policies of your own, by name: objects implementing `Policy`, used as they are. */
  readonly policies?: { readonly [name: string]: Policy };
  /** The order policies compose in, outermost first, for every method resolved through this registry. */
  readonly order?: readonly PolicyKind[];
};

const NAMED_KINDS = (Object.keys(POLICY_KINDS) as PolicyKind[]).filter(
  (kind) => POLICY_KINDS[kind].named,
);

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** A configuration checked in full: every kind's entries, and the order. */
export interface ParsedConfig {
  readonly kinds: Map<PolicyKind | typeof CUSTOM_POLICIES, Map<string, unknown>>;
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
  const kinds = new Map<PolicyKind | typeof CUSTOM_POLICIES, Map<string, unknown>>();
  const known = [...NAMED_KINDS, CUSTOM_POLICIES, 'order'];
  let order: readonly PolicyKind[] | undefined;
  for (const key of Reflect.ownKeys(config)) {
    const value = config[key];
    if (key === 'order') {
      const problem = orderProblem(value);
      if (problem) problems.push(`order: ${problem}`);
      else order = [...(value as PolicyKind[])];
      continue;
    }
    const isKnown = typeof key === 'string' && known.includes(key);
    if (!isKnown) {
      problems.push(`${String(key)}: unknown policy kind (known: ${known.join(', ')})`);
      continue;
    }
    if (!isPlainObject(value)) {
      problems.push(`${key}: expected an object of named entries, got ${describeValue(value)}`);
      continue;
    }
    let named: Record<PropertyKey, unknown>;
    try {
      named = readOwnEntries(value, key);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      continue;
    }
    kinds.set(
      key as PolicyKind,
      key === CUSTOM_POLICIES
        ? checkCustomEntries(named, problems)
        : checkEntries(key as PolicyKind, named, problems),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { kinds, order };
}

function checkEntries(
  kind: PolicyKind,
  value: Record<PropertyKey, unknown>,
  problems: string[],
): Map<string, unknown> {
  const spec = kindSpec(kind)!;
  const entries = new Map<string, unknown>();
  // Defaults that are an engine are reported once, on `defaults`, not again under every name.
  const defaults =
    Object.hasOwn(value, 'defaults') && !isEngine(value.defaults) ? value.defaults : undefined;
  for (const name of Reflect.ownKeys(value)) {
    if (typeof name !== 'string' || FORBIDDEN_NAMES.has(name)) {
      problems.push(`${kind}.${String(name)}: this name is not allowed`);
      continue;
    }
    const entry = value[name];
    if (isEngine(entry)) {
      // An engine is used as it is (it checked its options when built): only its kind and place can be wrong.
      if (name === 'defaults' || !isInstance(entry, spec.engine)) {
        const expected = name === 'defaults' ? 'options' : `options or a ${spec.engine.name}`;
        problems.push(ConfigError.invalid(`${kind}.${name}`, expected, entry).message);
      }
      entries.set(name, entry);
      continue;
    }
    // An object that is not plain options (a revoked Proxy, say) is not merged: the engine names it.
    const alien = typeof entry === 'object' && entry !== null && !isPlainObject(entry);
    const merged = name === 'defaults' || alien ? entry : spec.merge(defaults, entry);
    try {
      if (name !== 'defaults' || entry !== undefined) spec.create(merged, undefined);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => joinPath(kind, name, problem)));
    }
    entries.set(name, entry);
  }
  return entries;
}

function checkCustomEntries(
  value: Record<string, unknown>,
  problems: string[],
): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const name of Reflect.ownKeys(value)) {
    if (typeof name !== 'string' || FORBIDDEN_NAMES.has(name) || name === 'defaults') {
      problems.push(`${CUSTOM_POLICIES}.${String(name)}: this name is not allowed`);
      continue;
    }
    const entry = value[name];
    if (!isPolicy(entry))
      problems.push(
        ConfigError.invalid(
          `${CUSTOM_POLICIES}.${name}`,
          'a Policy (an object with kind, events and executeWith)',
          entry,
        ).message,
      );
    entries.set(name, entry);
  }
  return entries;
}

// Any kind's engine, so an engine of the wrong kind is named as such rather than checked as options.
function isEngine(value: unknown): boolean {
  return NAMED_KINDS.some((kind) => isInstance(value, kindSpec(kind)!.engine));
}

// A kind's entries, each options entry read once too, so a Proxy or a getter cannot change after the check.
function readOwnEntries(
  value: Record<PropertyKey, unknown>,
  kind: string,
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
