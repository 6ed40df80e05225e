import { ConfigError } from '../core/errors.js';
import { unreadable } from '../core/validate.js';
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
  let order: unknown;
  try {
    // Copied before it is checked: a getter or a Proxy cannot answer the check and the decorator differently.
    order = options?.order;
    if (Array.isArray(order)) order = [...(order as unknown[])];
  } catch (error) {
    throw unreadable('order', error);
  }
  const problem = orderProblem(order);
  if (problem) throw new ConfigError(`order: ${problem}`);
  return orderDecorator(order as PolicyKind[]);
}
