import { ConfigError, describeValue } from '../core/errors.js';
import { isInstance, isPlainObject, readOwnProperties } from '../core/validate.js';
import type { Policy } from '../core/policy.js';
import { registryOf } from '../registry/binding.js';
import type { PolicySource } from './metadata.js';

/**
 * Classifies a decorator argument as a registry name, an engine instance, or inline options: read once into a
 * copy, checked now by `validate` (which throws ConfigError; by default `make`) and, when the default registry
 * has defaults for the kind, merged over them; made into an engine by `make` where no registry is in use.
 */
export function sourceOf(
  argument: unknown,
  Engine: abstract new (...args: never[]) => object,
  make: (options: unknown) => Policy,
  validate: (options: unknown) => unknown = make,
): PolicySource {
  if (typeof argument === 'string') {
    if (argument.length === 0)
      throw new ConfigError('policy name: expected a non-empty string, got ""');
    return { type: 'name', value: argument };
  }
  if (isInstance(argument, Engine)) return { type: 'instance', value: argument };
  if (isPlainObject(argument)) {
    // Every engine is made from this copy: a getter, a Proxy or a change after decoration cannot reach a call.
    const options = snapshotOptions(argument);
    validate(options); // inline options fail at decoration time, not at first call
    registryOf(undefined)?.checkInline?.(Engine, options);
    return { type: 'options', value: options, make };
  }
  throw new ConfigError(
    `decorator argument: expected options, a registry name or a ${Engine.name}, got ${describeValue(argument)}`,
  );
}

/**
 * A decorator's inline options, read once: own properties copied onto a null-prototype object, nested arrays and
 * plain data objects (`exceptions`, a breaker's `slidingWindow`) copied too, so nothing is read from the user's
 * object after decoration. An object with methods (a store, a budget) is kept as it is: it is shared by identity.
 * Throws a ConfigError naming an option that could not be read.
 */
export function snapshotOptions(
  options: Record<PropertyKey, unknown>,
): Record<PropertyKey, unknown> {
  const copy = readOwnProperties(options, '', 'options');
  for (const key of Reflect.ownKeys(copy)) copy[key] = copyNested(copy[key], 1);
  return copy;
}

// Options are a few levels deep at most; the bound keeps a cyclic object from being copied for ever.
const MAX_DEPTH = 4;

// A nested value that cannot be copied (a Proxy, a getter that throws) is kept as it is: the engine's checks
// then refuse it with their own message, at decoration.
function copyNested(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  try {
    if (Array.isArray(value))
      return [...(value as unknown[])].map((item) => copyNested(item, depth + 1));
    if (!isPlainObject(value)) return value;
    const copy = readOwnProperties(value, '');
    const keys = Reflect.ownKeys(copy);
    if (keys.some((key) => typeof copy[key] === 'function')) return value;
    for (const key of keys) copy[key] = copyNested(copy[key], depth + 1);
    return copy;
  } catch {
    return value;
  }
}
