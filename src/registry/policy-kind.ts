import { describeValue } from '../core/errors.js';

/** The kinds of policy a method can carry, one per decorator. */
export type PolicyKind =
  'fallback' | 'retry' | 'circuitBreaker' | 'rateLimiter' | 'timeout' | 'concurrency';

/**
 * The order policies compose in, outermost first, whatever the order of the decorators in the source:
 * Retry outside CircuitBreaker so an open circuit ends retrying at once; CircuitBreaker outside RateLimited so a
 * rejected call spends no token; Timeout inside Retry so each try gets its own deadline; Concurrency innermost so
 * a permit is held only while the method runs.
 */
export const DEFAULT_ORDER: readonly PolicyKind[] = Object.freeze([
  'fallback',
  'retry',
  'circuitBreaker',
  'rateLimiter',
  'timeout',
  'concurrency',
]);

/** Checks that `order` is a permutation of a subset of the policy kinds; returns the problem or undefined. */
export function orderProblem(order: unknown): string | undefined {
  try {
    if (!Array.isArray(order)) return 'expected an array of policy kinds';
    const seen = new Set<unknown>();
    for (const kind of order) {
      if (!DEFAULT_ORDER.includes(kind as PolicyKind)) {
        return `expected policy kinds (${DEFAULT_ORDER.join(', ')}), got ${describeValue(kind)}`;
      }
      if (seen.has(kind)) return `expected each kind once, got ${describeValue(kind)} twice`;
      seen.add(kind);
    }
    return undefined;
  } catch {
    // a revoked Proxy, or an array whose traps throw
    return 'expected an array of policy kinds';
  }
}

/** Sorts kinds by `order`; kinds missing from `order` keep their canonical place after the listed ones. */
export function sortByOrder<T extends { kind: PolicyKind }>(
  items: T[],
  order: readonly PolicyKind[],
): T[] {
  const rank = (kind: PolicyKind) => {
    const index = order.indexOf(kind);
    return index >= 0 ? index : order.length + DEFAULT_ORDER.indexOf(kind);
  };
  return items.sort((a, b) => rank(a.kind) - rank(b.kind));
}
