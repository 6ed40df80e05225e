import { describeValue } from '../core/errors.js';
import type { PolicyKind } from './policy-kinds.js';

export type { PolicyKind } from './policy-kinds.js';

const ORDER = [
  'fallback',
  'retry',
  'hedge',
  'circuitBreaker',
  'rateLimiter',
  'timeout',
  'concurrency',
] as const satisfies readonly PolicyKind[];

// Compiles only while the order names every kind.
const everyKindListed: [Exclude<PolicyKind, (typeof ORDER)[number]>] extends [never]
  ? true
  : never = true;
void everyKindListed;

/**
 * The order policies compose in, outermost first, whatever the order of the decorators in the source; the
 * policy kinds table lists them in this order too (`POLICY_KINDS` says why). Policies of your own
 * (`@UsePolicy`) compose just inside Fallback. Written out rather than read from that table, so that the
 * decorators, which need the order, do not pull in every engine the table names.
 */
export const DEFAULT_ORDER: readonly PolicyKind[] = Object.freeze([...ORDER]);

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

/**
 * Sorts policies by `order`: kinds missing from `order` keep their canonical place after the listed ones, and
 * policies of your own (kind `'custom'`) come right inside the fallback, the decorator written first outermost
 * (decorators apply bottom-up, so the first recorded is the innermost).
 */
export function sortByOrder<T extends { kind: PolicyKind | 'custom' }>(
  items: readonly T[],
  order: readonly PolicyKind[],
): T[] {
  const rank = (kind: PolicyKind) => {
    const index = order.indexOf(kind);
    return index >= 0 ? index : order.length + DEFAULT_ORDER.indexOf(kind);
  };
  const custom = rank('fallback') + 0.5;
  return items
    .map((item, i) => ({
      item,
      rank:
        item.kind === 'custom'
          ? custom + (items.length - i) / (items.length + 1) / 2
          : rank(item.kind),
    }))
    .sort((a, b) => a.rank - b.rank)
    .map(({ item }) => item);
}
