import { ConfigError } from '../core/errors.js';
import { isInstance } from '../core/validate.js';
import { bindTo, setDefaultRegistry } from './binding.js';
import { ResilienceRegistry } from './registry.js';

/** The default registry: what decorated instances use unless bound to another with {@link bindRegistry}. */
export const registry = setDefaultRegistry(new ResilienceRegistry());

/**
 * Binds a decorated instance (or a class, for its static methods) to `registry`, so its named policies resolve
 * there and its inline policies are separate from other registries'. NestJS integration does this for every
 * provider; call it yourself to run two isolated configurations in one process.
 */
export function bindRegistry<T extends object>(instance: T, target: ResilienceRegistry): T {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function'))
    throw ConfigError.invalid('instance', 'an object or a class', instance);
  if (!isInstance(target, ResilienceRegistry))
    throw ConfigError.invalid('registry', 'a ResilienceRegistry', target);
  try {
    bindTo(instance, target);
  } catch {
    // a frozen or sealed object, a revoked Proxy, a Proxy that refuses the property
    throw ConfigError.invalid(
      'instance',
      'an object or a class that can take a property',
      instance,
    );
  }
  return instance;
}
