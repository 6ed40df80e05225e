import { ConfigError } from '../core/errors.js';
import { ResilienceRegistry } from './registry.js';

const REGISTRY = Symbol.for('dspu:registry');

/** The default registry: what decorated instances use unless bound to another with {@link bindRegistry}. */
export const registry = new ResilienceRegistry();

/**
 * Binds a decorated instance (or a class, for its static methods) to `registry`, so its named policies resolve
 * there and its inline policies are separate from other registries'. NestJS integration does this for every
 * provider; call it yourself to run two isolated configurations in one process.
 */
export function bindRegistry<T extends object>(instance: T, target: ResilienceRegistry): T {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function'))
    throw ConfigError.invalid('instance', 'an object or a class', instance);
  if (!(target instanceof ResilienceRegistry))
    throw ConfigError.invalid('registry', 'a ResilienceRegistry', target);
  Object.defineProperty(instance, REGISTRY, {
    value: target,
    configurable: true,
    enumerable: false,
    writable: true,
  });
  return instance;
}

/** The registry bound to `instance`, else the default one. */
export function registryOf(instance: unknown): ResilienceRegistry {
  const bound =
    instance !== null && (typeof instance === 'object' || typeof instance === 'function')
      ? (instance as Record<symbol, ResilienceRegistry | undefined>)[REGISTRY]
      : undefined;
  return bound ?? registry;
}
