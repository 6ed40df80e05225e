import { HedgePolicy, type HedgeOptions } from '../patterns/hedge/index.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';

/**
 * Hedges each call of the decorated method: while no attempt has answered, another copy is sent after each
 * `delay` (a duration, or a latency quantile such as `'p95'`), up to `maxHedges`; the first success wins and the
 * others' `currentSignal()` aborts. It composes inside Retry and outside the breaker, limiters and timeout, so
 * each attempt is counted, limited and timed on its own. Only hedge methods that are safe to run twice.
 *
 * @param policy - inline options, a registry name, or a {@link HedgePolicy} instance
 * @example
 * ```ts
 * class Search {
 *   @Hedge({ delay: 'p95', maxHedges: 2, fallbackDelay: '100ms' })
 *   async query(q: string) {
 *     const signal = currentSignal();
 *     return (await fetch(`${api}/search?q=${q}`, { signal })).json();
 *   }
 * }
 * ```
 */
export function Hedge(policy: HedgeOptions | string | HedgePolicy): ResilienceDecorator {
  return policyDecorator({
    kind: 'hedge',
    source: sourceOf(
      policy,
      HedgePolicy,
      (options) => new HedgePolicy(options as HedgeOptions),
      (options) => new HedgePolicy(budgetUnresolved(options)),
    ),
  });
}

// At decoration a budget name cannot be resolved yet (the registry does it at first call): check the rest.
function budgetUnresolved(options: unknown): HedgeOptions {
  const given = options as HedgeOptions;
  try {
    return typeof given.budget === 'string' && given.budget !== ''
      ? { ...given, budget: NO_BUDGET_YET }
      : given;
  } catch {
    return given; // unreadable options: the policy's own checks report them
  }
}

const NO_BUDGET_YET = { deposit: () => undefined, withdraw: () => true };
