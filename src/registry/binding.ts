import type { Policy } from '../core/policy.js';
import type { PolicySource } from '../decorators/metadata.js';
import type { PolicyKind } from './policy-kind.js';

const REGISTRY = Symbol.for('dspu:registry');

/**
 * What a woven method builds its pipeline with: a {@link ResilienceRegistry}, or, in a program that uses none,
 * the decorators' own engines.
 * @internal
 */
export interface PolicyResolver {
  /** Bumped by each reconfiguration: pipelines built for an older version are rebuilt. */
  readonly version: number;
  /** The order policies compose in, outermost first. */
  readonly order: readonly PolicyKind[];
  /** The engine of one of a method's policies; `site` identifies the decorated method. */
  resolvePolicy(
    kind: PolicyKind | 'custom',
    source: PolicySource,
    label: string,
    site: object,
  ): Policy;
  /**
   * Checks a decorator's inline options, as it is applied, merged over this resolver's defaults of the kind
   * whose engine is `Engine`; throws ConfigError.
   */
  checkInline?(Engine: abstract new (...args: never[]) => object, options: unknown): void;
}

// The default registry, once the module that makes it has run. It is not imported here: a bundle that never
// uses a registry (only decorators with inline options) then leaves the registry, and every engine it knows, out.
let defaultRegistry: PolicyResolver | undefined;

/**
 * Makes `registry` the one decorated instances use unless bound to another.
 * @internal
 */
export function setDefaultRegistry<R extends PolicyResolver>(registry: R): R {
  defaultRegistry = registry;
  return registry;
}

/**
 * Records that `instance` (or a class, for its static methods) resolves its policies in `registry`.
 * @internal
 */
export function bindTo(instance: object, registry: PolicyResolver): void {
  Object.defineProperty(instance, REGISTRY, {
    value: registry,
    configurable: true,
    enumerable: false,
    writable: true,
  });
}

/** The registry bound to `instance`, else the default one; undefined in a program that has none. */
export function registryOf(instance: unknown): PolicyResolver | undefined {
  const bound =
    instance !== null && (typeof instance === 'object' || typeof instance === 'function')
      ? (instance as Record<symbol, PolicyResolver | undefined>)[REGISTRY]
      : undefined;
  return bound ?? defaultRegistry;
}
