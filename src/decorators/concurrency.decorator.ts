import {
  ConcurrencyLimiter,
  type AdaptiveConcurrencyEntry,
  type ConcurrencyLimiterOptions,
} from '../patterns/concurrency/index.js';
import { limiterFromOptions } from '../patterns/concurrency/adaptive/adaptive-concurrency-limiter.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/**
 * Bounds how many calls of the decorated method run at once; the rest wait in a FIFO queue. It composes
 * innermost, so a permit is held only while the method itself runs (and an adaptive limit measures the method's
 * own latency).
 *
 * @param policy - a limit (`@Concurrency(10)`), limiter options, `{ adaptive: { … } }` for a limit that adapts
 *   (see `AdaptiveConcurrencyLimiter`), a registry name, or a {@link ConcurrencyLimiter}
 * @example
 * ```ts
 * class Db {
 *   @Concurrency({ limit: 10, maxQueue: 100 })
 *   async query(sql: string) {}
 *
 *   @Concurrency({ adaptive: { algorithm: 'gradient', maxLimit: 200 }, maxQueue: 100 })
 *   async search(text: string) {}
 * }
 * ```
 */
export function Concurrency(
  policy:
    | number
    | ConcurrencyLimiterOptions
    | AdaptiveConcurrencyEntry
    | PolicyName<'concurrency'>
    | ConcurrencyLimiter,
): ResilienceDecorator {
  const argument = typeof policy === 'number' ? { limit: policy } : policy;
  const source = sourceOf(argument, ConcurrencyLimiter, (options) =>
    limiterFromOptions(options as ConcurrencyLimiterOptions),
  );
  return policyDecorator({ kind: 'concurrency', source });
}
