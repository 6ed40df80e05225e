import { ConfigError, describeValue } from '../core/errors.js';
import { isInstance, isPlainObject } from '../core/validate.js';
import type { PolicySource } from './metadata.js';

/**
 * Classifies a decorator argument as a registry name, an engine instance, or inline options (validated now by
 * `validate`, which throws ConfigError).
 */
export function sourceOf(
  argument: unknown,
  Engine: abstract new (...args: never[]) => object,
  validate: (options: unknown) => unknown,
): PolicySource {
  if (typeof argument === 'string') {
    if (argument.length === 0)
      throw new ConfigError('policy name: expected a non-empty string, got ""');
    return { type: 'name', value: argument };
  }
  if (isInstance(argument, Engine)) return { type: 'instance', value: argument };
  if (isPlainObject(argument)) {
    validate(argument); // inline options fail at decoration time, not at first call
    return { type: 'options', value: argument };
  }
  throw new ConfigError(
    `decorator argument: expected options, a registry name or a ${Engine.name}, got ${describeValue(argument)}`,
  );
}
