import { ConfigError } from '../core/errors.js';
import { readOwnRecords, type PolicyDescriptor } from './metadata.js';
import { DEFAULT_ORDER, sortByOrder, type PolicyKind } from '../registry/policy-kind.js';

type AnyClass = abstract new (...args: never[]) => unknown;

/**
 * The policies that apply to `Class.prototype[method]`, outermost first: the method's own, plus the class-level
 * ones of the class that declares it for kinds the method does not set itself, in the method's order, else the
 * class's, else `fallbackOrder`.
 */
export function effectivePolicies(
  Class: AnyClass,
  method: string | symbol,
  fallbackOrder: readonly PolicyKind[] = DEFAULT_ORDER,
): PolicyDescriptor[] {
  const own = readOwnRecords(Class, method);
  const classLevel = readOwnRecords(Class, undefined);
  const policies = [...own.policies];
  for (const policy of classLevel.policies) {
    if (policy.kind === 'custom' || !policies.some((p) => p.kind === policy.kind))
      policies.push(policy);
  }
  return sortByOrder(policies, own.order ?? classLevel.order ?? fallbackOrder);
}

/** One entry of {@link getResiliencePolicies}. */
export interface PolicyInfo {
  /** The policy kind, e.g. `'retry'`; `'custom'` for a policy of your own (`@UsePolicy`). */
  readonly kind: PolicyKind | 'custom';
  /** `'options'`, `'name'` or `'instance'`: where the policy comes from. */
  readonly source: PolicyDescriptor['source']['type'];
  /** The inline options, the registry name, or the engine instance. */
  readonly value: unknown;
  /** Per-call options (e.g. `{ tokens: 5 }` for a rate limit), if any. */
  readonly call?: Readonly<Record<string, unknown>>;
}

/**
 * Lists the policies that apply to a method, outermost first, as the weaver composes them (with the default
 * order unless the method or class sets one). For tests and tools.
 *
 * @example
 * ```ts
 * getResiliencePolicies(PaymentsClient, 'charge').map((p) => p.kind); // ['retry', 'circuitBreaker', 'timeout']
 * ```
 */
export function getResiliencePolicies(Class: AnyClass, method: string | symbol): PolicyInfo[] {
  if (typeof Class !== 'function' || !(Class.prototype instanceof Object))
    throw ConfigError.invalid('Class', 'a class', Class);
  if (typeof method !== 'string' && typeof method !== 'symbol')
    throw ConfigError.invalid('method', 'a method name', method);
  let declaring: AnyClass | undefined = Class;
  while (declaring && !Object.hasOwn(declaring.prototype as object, method)) {
    declaring = Object.getPrototypeOf(declaring) as AnyClass | undefined;
    if (declaring === Function.prototype) declaring = undefined;
  }
  if (!declaring) return [];
  return effectivePolicies(declaring, method).map((p) => ({
    kind: p.kind,
    source: p.source.type,
    value: p.source.value,
    ...(p.call ? { call: p.call } : {}),
  }));
}
