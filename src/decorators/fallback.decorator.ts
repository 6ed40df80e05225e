import { ConfigError, describeValue } from '../core/errors.js';
import { isPlainObject } from '../core/validate.js';
import { FallbackPolicy, type FallbackOptions } from '../patterns/fallback/index.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { snapshotOptions } from './source.js';

/** What `@Fallback` answers with: a handler `(error, ...args)`, or the name of a method of the same class. */
export type FallbackTarget = string | ((error: unknown, ...args: never[]) => unknown);

/**
 * Answers a failed call with a fallback instead of the error: graceful degradation without try/catch.
 * The handler (or the named method, called on the same instance) receives `(error, ...args)`.
 *
 * @example
 * ```ts
 * class Quotes {
 *   @Fallback('cachedQuote', { exceptions: [CircuitBreakerError] })
 *   @CircuitBreaker('quotes')
 *   async quote(symbol: string) { return api.quote(symbol); }
 *
 *   async cachedQuote(_error: unknown, symbol: string) { return cache.get(symbol); }
 * }
 * ```
 */
export function Fallback(
  target: FallbackTarget,
  options: FallbackOptions = {},
): ResilienceDecorator {
  const handler = typeof target === 'string' ? callMethod(target) : target;
  if (typeof handler !== 'function') {
    throw ConfigError.invalid('fallback', 'a handler function or a method name', target);
  }
  // Read once, now: every engine is made from this copy, whatever the user's object does later.
  const given = isPlainObject(options) ? (snapshotOptions(options) as FallbackOptions) : options;
  const make = () => new FallbackPolicy(handler, given);
  make(); // validates the options now, at decoration time
  return policyDecorator({
    kind: 'fallback',
    source: { type: 'options', value: { handler, options: given }, make },
  });
}

function callMethod(name: string): (this: unknown, error: unknown, ...args: unknown[]) => unknown {
  if (name.length === 0) throw ConfigError.invalid('fallback', 'a method name', name);
  return function (this: unknown, error: unknown, ...args: unknown[]) {
    const method = (this as Record<string, unknown> | null | undefined)?.[name];
    if (typeof method !== 'function') {
      throw ConfigError.invalid(
        `fallback method ${describeValue(name)}`,
        'a method of the same class',
        method,
      );
    }
    return (method as (...all: unknown[]) => unknown).call(this, error, ...args);
  };
}
