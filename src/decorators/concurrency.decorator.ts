import {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
} from '../patterns/concurrency/index.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/**
 * Bounds how many calls of the decorated method run at once; the rest wait in a FIFO queue. It
 * composes innermost, so a permit is held only while the method itself runs.
 *
 * @param policy - a limit (`@Concurrency(10)`), limiter options, a registry name, or a {@link ConcurrencyLimiter}
 * @example
 * ```ts
 * class Db {
 *   @Concurrency({ limit: 10, maxQueue: 100 })
 *   async query(sql: string) {}
 * }
 * ```
 */
export function Concurrency(
  policy: number | ConcurrencyLimiterOptions | PolicyName<'concurrency'> | ConcurrencyLimiter,
): ResilienceDecorator {
  const argument = typeof policy === 'number' ? { limit: policy } : policy;
  const source = sourceOf(
    argument,
    ConcurrencyLimiter,
    (options) => new ConcurrencyLimiter(options as ConcurrencyLimiterOptions),
  );
  return policyDecorator({ kind: 'concurrency', source });
}
