import { isPlainObject } from '../core/validate.js';

/**
 * True when two merged entries say the same: the same keys with the same values, compared through plain objects
 * and arrays (an entry given again as the same JSON is the same), anything else by identity (`Object.is`).
 */
export function sameOptions(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (depth > 8) return false;
  try {
    if (Array.isArray(a))
      return (
        Array.isArray(b) &&
        a.length === b.length &&
        a.every((value, i) => sameOptions(value, b[i], depth + 1))
      );
    if (!isPlainObject(a) || !isPlainObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && sameOptions(a[key], b[key], depth + 1));
  } catch {
    return false; // an object that cannot be read (a revoked Proxy) is not known to be the same
  }
}
