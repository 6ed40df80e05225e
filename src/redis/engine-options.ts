import { ConfigError } from '../index.js';
import { SUBSCRIBE_ON_FIRST_USE } from './subscription.js';

/**
 * Refuses the symbol keys of a Redis engine's options. `splitOptions` hands the engine its string keys only, so
 * an engine built on its own refuses `[Symbol('typo')]: …` as an unknown option while the same engine built
 * through Redis would drop it unnoticed. Only the keys are looked at (no value is read); the mark
 * {@link SUBSCRIBE_ON_FIRST_USE} that `withRedisStores` sets is the one symbol allowed. An object whose keys
 * cannot be listed is left to the option checkers, which report it.
 * @internal
 */
export function refuseSymbolKeys(options: unknown): void {
  if (typeof options !== 'object' || options === null) return;
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(options);
  } catch {
    return;
  }
  const unknown = keys.filter((key) => typeof key === 'symbol' && key !== SUBSCRIBE_ON_FIRST_USE);
  if (unknown.length > 0)
    throw new ConfigError(unknown.map((key) => `${String(key)}: unknown option`));
}
