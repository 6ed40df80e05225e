import { ConfigError, describeValue } from '../core/errors.js';
import { isPolicy, type Policy } from '../core/policy.js';
import { isInstance, isPlainObject, readOwnProperties } from '../core/validate.js';
import { orderProblem } from './policy-kind.js';
import {
  POLICY_KINDS,
  RESOURCE_KINDS,
  kindSpec,
  resourceSpec,
  type EngineOf,
  type NamedKind,
  type OptionsOf,
  type PolicyKind,
  type ResourceKind,
  type ResourceOf,
  type ResourceOptionsOf,
  type SharedResources,
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
 * `timeout`, `concurrency`), one per kind of shared resource (`retryBudget`), `policies` for policies of your
 * own, and `order`.
 */
export type ResilienceConfig = {
  readonly [K in NamedKind]?: NamedEntries<OptionsOf<K>, EngineOf<K>>;
} & {
  readonly [K in ResourceKind]?: NamedEntries<ResourceOptionsOf<K>, ResourceOf<K>>;
} & {
  /** Policies of your own, by name: objects implementing `Policy`, used as they are. */
  readonly policies?: { readonly [name: string]: Policy };
  /** The order policies compose in, outermost first, for every method resolved through this registry. */
  readonly order?: readonly PolicyKind[];
};

const NAMED_KINDS = (Object.keys(POLICY_KINDS) as PolicyKind[]).filter(
  (kind) => POLICY_KINDS[kind].named,
);

const RESOURCE_KIND_NAMES = Object.keys(RESOURCE_KINDS) as ResourceKind[];

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Names an entry cannot have: those of the object model, `defaults` among policies of your own (which have none),
 * and the empty name, which no decorator can ask for.
 */
function isRefusedName(name: string, custom: boolean): boolean {
  return name === '' || FORBIDDEN_NAMES.has(name) || (custom && name === 'defaults');
}

function nameProblem(kind: string, name: string | symbol): string {
  return name === ''
    ? `${kind}."": a policy name is a non-empty string`
    : `${kind}.${String(name)}: this name is not allowed`;
}

/** A key of a configuration that holds named entries. */
export type ConfigKind = PolicyKind | ResourceKind | typeof CUSTOM_POLICIES;

/** A configuration checked in full: every kind's entries, and the order. */
export interface ParsedConfig {
  readonly kinds: Map<ConfigKind, Map<string, unknown>>;
  readonly order: readonly PolicyKind[] | undefined;
}

/** A registry's configuration so far: per kind, its entries by name (`defaults` among them). */
export type StoredConfig = ReadonlyMap<ConfigKind, ReadonlyMap<string, unknown>>;

/**
 * Checks a whole configuration and lists every problem by path in one ConfigError. Each entry is checked by
 * building its engine once from the entry merged over the defaults it will be merged with, so the rules are the
 * engines' own: this call's `defaults` of its kind, else those `stored` from earlier calls. New defaults are
 * checked against the entries stored earlier too, so a configuration is accepted only when all of it, old and
 * new, holds together. An entry that is an engine of its kind checked its options when it was built. A resource
 * an entry names (a retry's `budget`) must be configured here or earlier.
 */
export function validateConfig(given: unknown, stored: StoredConfig = new Map()): ParsedConfig {
  if (!isPlainObject(given)) throw ConfigError.invalid('config', 'an object', given);
  // Read once, whatever the object does (a Proxy, getters): what is checked is what is kept.
  const config = readOwnProperties(given, '', 'config');
  const problems: string[] = [];
  const kinds = new Map<ConfigKind, Map<string, unknown>>();
  const keys = [...NAMED_KINDS, ...RESOURCE_KIND_NAMES, CUSTOM_POLICIES, 'order'];
  let order: readonly PolicyKind[] | undefined;
  const sections: [string, Record<string, unknown>][] = [];
  for (const key of Reflect.ownKeys(config)) {
    const value = config[key];
    if (key === 'order') {
      const problem = orderProblem(value);
      if (problem) problems.push(`order: ${problem}`);
      else order = [...(value as PolicyKind[])];
      continue;
    }
    const isKnown = typeof key === 'string' && keys.includes(key);
    if (!isKnown) {
      problems.push(`${String(key)}: unknown policy kind (known: ${keys.join(', ')})`);
      continue;
    }
    if (!isPlainObject(value)) {
      problems.push(`${key}: expected an object of named entries, got ${describeValue(value)}`);
      continue;
    }
    try {
      sections.push([key, readOwnEntries(value, key)]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  // Resources first: the policies' entries may name them.
  for (const [key, value] of sections) {
    const spec = resourceSpec(key);
    if (spec) {
      const create = (options: unknown) => spec.create(options);
      kinds.set(key as ResourceKind, checkEntries(key, spec, create, value, stored, problems));
    }
  }
  const resources = resourcesForChecks(kinds, stored);
  for (const [key, value] of sections) {
    if (key === CUSTOM_POLICIES) kinds.set(key, checkCustomEntries(value, problems));
    else if (!resourceSpec(key)) {
      const spec = kindSpec(key)!;
      const create = (options: unknown) => spec.create(options, undefined, resources);
      kinds.set(key as PolicyKind, checkEntries(key, spec, create, value, stored, problems));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { kinds, order };
}

/** Resolves resource names while a configuration is checked: to a stand-in, or a ConfigError for an unknown name. */
function resourcesForChecks(kinds: StoredConfig, stored: StoredConfig): SharedResources {
  const standIns = new Map<ResourceKind, object>();
  return {
    resource(kind, name) {
      const names = new Set(stored.get(kind)?.keys());
      for (const configured of kinds.get(kind)?.keys() ?? []) names.add(configured);
      names.delete('defaults');
      if (!names.has(name)) throw unknownName(kind, name, [...names]);
      let standIn = standIns.get(kind);
      if (standIn === undefined) standIns.set(kind, (standIn = RESOURCE_KINDS[kind].create({})));
      return standIn as ResourceOf<typeof kind>;
    },
  };
}

/** The error for a name that is not configured for `kind`, listing the names that are. */
export function unknownName(kind: string, name: string, known: readonly string[]): ConfigError {
  return new ConfigError(
    `${kind} ${describeValue(name)} is not configured; known: ${known.length ? known.join(', ') : '(none)'}`,
  );
}

function checkEntries(
  kind: string,
  spec: {
    readonly engine: abstract new (...args: never[]) => unknown;
    merge(defaults: unknown, entry: unknown): unknown;
  },
  create: (options: unknown) => unknown,
  value: Record<string, unknown>,
  stored: StoredConfig,
  problems: string[],
): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  const earlier = stored.get(kind as ConfigKind);
  const newDefaults = Object.hasOwn(value, 'defaults');
  // Defaults that are an engine are reported once, on `defaults`, not again under every name.
  const given = newDefaults ? value.defaults : earlier?.get('defaults');
  const defaults = isEngine(given) ? undefined : given;
  let defaultsFailed = false;
  for (const name of Reflect.ownKeys(value)) {
    if (typeof name !== 'string' || isRefusedName(name, false)) {
      problems.push(nameProblem(kind, name));
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
    if (name !== 'defaults' || entry !== undefined) {
      const merged = name === 'defaults' ? entry : mergeReadable(spec, defaults, entry);
      const before = problems.length;
      checkEntry(kind, name, () => create(merged), problems);
      if (name === 'defaults') defaultsFailed = problems.length > before;
    }
    entries.set(name, entry);
  }
  // New defaults apply to the entries configured earlier as well: they are checked over them now, not at use
  // (unless the defaults are wrong themselves, which is reported once, on `defaults`).
  if (newDefaults && defaults === given && !defaultsFailed) {
    for (const [name, entry] of earlier ?? []) {
      if (name === 'defaults' || Object.hasOwn(value, name) || isEngine(entry)) continue;
      checkEntry(kind, name, () => create(mergeReadable(spec, defaults, entry)), problems);
    }
  }
  return entries;
}

function checkEntry(kind: string, name: string, check: () => unknown, problems: string[]): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((problem) => joinPath(kind, name, problem)));
  }
}

function checkCustomEntries(
  value: Record<string, unknown>,
  problems: string[],
): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const name of Reflect.ownKeys(value)) {
    if (typeof name !== 'string' || isRefusedName(name, true)) {
      problems.push(nameProblem(CUSTOM_POLICIES, name));
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
  try {
    return (
      NAMED_KINDS.some((kind) => value instanceof kindSpec(kind)!.engine) ||
      RESOURCE_KIND_NAMES.some((kind) => value instanceof RESOURCE_KINDS[kind].engine)
    );
  } catch {
    return false; // a revoked Proxy: checked as options, which reports it
  }
}

// A kind's entries, each options entry read once too, so a Proxy or a getter cannot change after the check. A
// policy of your own is no options entry, even written as an object literal: it is used as it is, its state on it.
function readOwnEntries(
  value: Record<PropertyKey, unknown>,
  kind: string,
): Record<string, unknown> {
  const named = readOwnProperties(value, kind);
  if (kind === CUSTOM_POLICIES) return named;
  for (const name of Reflect.ownKeys(named)) {
    const entry = named[name];
    if (isPlainObject(entry)) named[name] = readOwnProperties(entry, `${kind}.${String(name)}`);
  }
  return named;
}

// An entry that throws when read cannot be merged: it is checked as it is, which reports it.
function mergeReadable(
  spec: { merge(defaults: unknown, entry: unknown): unknown },
  defaults: unknown,
  entry: unknown,
): unknown {
  try {
    return spec.merge(defaults, entry);
  } catch {
    return entry;
  }
}

// `timeout.slow: expected a duration` reads better than `timeout.slow.timeout: …` for a bare duration entry.
function joinPath(kind: string, name: string, problem: string): string {
  if (kind === 'timeout' && problem.startsWith('timeout: '))
    return `timeout.${name}: ${problem.slice(9)}`;
  return `${kind}.${name}.${problem}`;
}
