import { ConfigError, describeValue } from '../core/errors.js';
import { isInstance, isPlainObject } from '../core/validate.js';
import type { Policy } from '../core/policy.js';
import type { PolicySource } from './metadata.js';

/**
 * Classifies a decorator argument as a registry name, an engine instance, or inline options: checked now by
 * `validate` (which throws ConfigError; by default `make`), and made into an engine by `make` where no registry
 * is in use.
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
    validate(argument); // inline options fail at decoration time, not at first call
    return { type: 'options', value: argument, make };
  }
  throw new ConfigError(
    `decorator argument: expected options, a registry name or a ${Engine.name}, got ${describeValue(argument)}`,
  );
}
