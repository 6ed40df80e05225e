import { isPlainObject, OptionsChecker, unreadable } from '../core/validate.js';
import { orderProblem, type PolicyKind } from '../registry/policy-kind.js';
import { orderDecorator, type ResilienceDecorator } from './decorator-factory.js';

/** Options of {@link Resilient}. */
export interface ResilientOptions {
  /** The order the method's (or class's) policies compose in, outermost first. Kinds left out keep their place after the listed ones. */
  order: readonly PolicyKind[];
}

/**
 * Changes the order a method's (or a whole class's) policies compose in. The default, outermost first, is
 * `fallback, retry, circuitBreaker, rateLimiter, timeout, concurrency`.
 *
 * @example
 * ```ts
 * class Jobs {
 *   @Resilient({ order: ['timeout', 'retry'] }) // one deadline for all tries
 *   @Retry({ maxAttempts: 3 })
 *   @Timeout('10s')
 *   async run() {}
 * }
 * ```
 */
export function Resilient(options: ResilientOptions): ResilienceDecorator {
  // Own keys only, each read once into a copy: an `order` inherited from a prototype is no option, a misspelt
  // key is refused, and a getter or a Proxy cannot answer the check and the decorator differently. Anything but
  // an options object has no order, which is what its problem says.
  const checker = new OptionsChecker(isPlainObject(options) ? options : undefined);
  const unreadableOptions = checker.problems.length > 0;
  checker.onlyKnown(RESILIENT_OPTION_KEYS);
  let order = checker.raw('order');
  if (!unreadableOptions) {
    try {
      if (Array.isArray(order)) order = [...(order as unknown[])];
    } catch (error) {
      throw unreadable('order', error);
    }
    const problem = orderProblem(order);
    if (problem) checker.problems.push(`order: ${problem}`);
  }
  checker.throwIfInvalid();
  return orderDecorator(order as PolicyKind[]);
}

const RESILIENT_OPTION_KEYS = ['order'] as const;
