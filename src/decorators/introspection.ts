import { ConfigError } from '../core/errors.js';
import { readingUserValue, unreadable } from '../core/validate.js';
import { readOwnRecords, type PolicyDescriptor } from './metadata.js';
import { DEFAULT_ORDER, sortByOrder, type PolicyKind } from '../registry/policy-kind.js';
import { isWoven } from './weaver.js';

type AnyClass = abstract new (...args: never[]) => unknown;

/**
 * The policies that apply to method `method` of `Class` (on its prototype; on the class itself when `static`),
 * outermost first. An instance method has its own plus the class-level ones of the class that declares it for
 * kinds it does not set itself, in the method's order, else the class's, else `order`; a static method has its
 * own only, in its own order, else `order`.
 */
export function effectivePolicies(
  Class: AnyClass,
  method: string | symbol,
  where: { readonly static: boolean; readonly order?: readonly PolicyKind[] },
): PolicyDescriptor[] {
  const own = readOwnRecords(Class, method, where.static);
  const fallbackOrder = where.order ?? DEFAULT_ORDER;
  if (where.static) return sortByOrder([...own.policies], own.order ?? fallbackOrder);
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
 * @param options - `static: true` asks about the static method of that name rather than the instance method
 *
 * @example
 * ```ts
 * getResiliencePolicies(PaymentsClient, 'charge').map((p) => p.kind); // ['retry', 'circuitBreaker', 'timeout']
 * getResiliencePolicies(PaymentsClient, 'warmUp', { static: true }); // a static method's
 * ```
 */
export function getResiliencePolicies(
  Class: AnyClass,
  method: string | symbol,
  options?: { readonly static?: boolean },
): PolicyInfo[] {
  return readingUserValue('Class', () => policiesOf(Class, method, options));
}

function policiesOf(
  Class: AnyClass,
  method: string | symbol,
  options?: { readonly static?: boolean },
): PolicyInfo[] {
  if (typeof Class !== 'function' || !(Class.prototype instanceof Object))
    throw ConfigError.invalid('Class', 'a class', Class);
  if (typeof method !== 'string' && typeof method !== 'symbol')
    throw ConfigError.invalid('method', 'a method name', method);
  const isStatic = readStatic(options);
  // The class that declares the method, and what it holds there (an inherited static is the parent's too).
  let declaring: AnyClass | undefined = Class;
  while (
    declaring &&
    !Object.hasOwn(isStatic ? declaring : (declaring.prototype as object), method)
  ) {
    declaring = Object.getPrototypeOf(declaring) as AnyClass | undefined;
    if (declaring === Function.prototype) declaring = undefined;
  }
  if (!declaring) return [];
  const held = Object.getOwnPropertyDescriptor(
    isStatic ? declaring : (declaring.prototype as object),
    method,
  )?.value as unknown;
  // Undecorated itself, it runs under the class's policies only if the class decorator wove it (an async
  // method); an override that is not decorated runs as written.
  const own = readOwnRecords(declaring, method, isStatic);
  if (own.policies.length === 0 && own.order === undefined && !isWoven(held)) return [];
  return effectivePolicies(declaring, method, { static: isStatic }).map((p) => ({
    kind: p.kind,
    source: p.source.type,
    value: p.source.value,
    ...(p.call ? { call: p.call } : {}),
  }));
}

function readStatic(options: { readonly static?: boolean } | undefined): boolean {
  if (options === undefined) return false;
  if (typeof options !== 'object' || options === null)
    throw ConfigError.invalid('options', 'an object', options);
  let value: unknown;
  try {
    value = options.static;
  } catch (error) {
    throw unreadable('options.static', error);
  }
  if (value !== undefined && typeof value !== 'boolean')
    throw ConfigError.invalid('options.static', 'a boolean', value);
  return value === true;
}
