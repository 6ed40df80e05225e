import { ConfigError, describeValue } from './errors.js';
import { toMs } from './duration.js';

/**
 * Collects every problem of an options object before anything is built, so a user sees all mistakes at once.
 * Each problem reads `path: expected <rule>, got <value>`.
 */
export class OptionsChecker {
  readonly problems: string[] = [];
  private readonly source: Record<string, unknown>;

  /**
   * @param options - what the user passed (anything: it is checked to be a plain object)
   * @param prefix - prepended to option names in messages (`'circuitBreaker.payments.'`), empty for constructors
   */
  constructor(
    options: unknown,
    private readonly prefix = '',
  ) {
    const source = options === undefined ? {} : readOptions(options);
    if (typeof source === 'object') this.source = source;
    else {
      this.source = {};
      const got = source === UNREADABLE ? 'one that throws when read' : describeSafely(options);
      this.problems.push(
        `${prefix.replace(/\.$/, '') || 'options'}: expected an options object, got ${got}`,
      );
    }
  }

  /** The raw value of `key` (own properties only: `__proto__` tricks never reach the engines). */
  raw(key: string): unknown {
    return Object.hasOwn(this.source, key) ? this.source[key] : undefined;
  }

  /** Records a problem for `key`. */
  fail(key: string, rule: string, value: unknown = this.raw(key)): void {
    this.problems.push(`${this.prefix}${key}: expected ${rule}, got ${describeValue(value)}`);
  }

  /** Records a problem when `key` is absent; true when it is present. */
  required(key: string, rule: string): boolean {
    if (this.raw(key) !== undefined) return true;
    this.fail(key, rule, undefined);
    return false;
  }

  /** Rejects keys outside `known`: a typo (`maxAtempts`) must not silently fall back to a default. */
  onlyKnown(known: readonly string[]): this {
    for (const key of Reflect.ownKeys(this.source)) {
      if (typeof key !== 'string' || !known.includes(key)) {
        this.problems.push(
          `${this.prefix}${String(key)}: unknown option (known: ${known.join(', ')})`,
        );
      }
    }
    return this;
  }

  /** A duration in ms, or `fallback` when absent. */
  duration(key: string, fallback: number): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    try {
      return toMs(value, this.prefix + key);
    } catch (error) {
      this.problems.push((error as ConfigError).message);
      return fallback;
    }
  }

  /** An integer in [min, max] (Infinity allowed when `max` is Infinity), or `fallback` when absent. */
  integer(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const ok =
      typeof value === 'number' &&
      value >= min &&
      value <= max &&
      (Number.isInteger(value) || value === Infinity);
    if (ok) return value;
    this.fail(
      key,
      max === Infinity ? `an integer >= ${min} (or Infinity)` : `an integer from ${min} to ${max}`,
    );
    return fallback;
  }

  /** A finite number > 0 (or >= min when given inclusive), or `fallback` when absent. */
  positiveNumber(key: string, fallback: number): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'number' && value > 0 && Number.isFinite(value)) return value;
    this.fail(key, 'a finite number greater than 0');
    return fallback;
  }

  /** A finite number >= 0, or `fallback` when absent. */
  nonNegativeNumber(key: string, fallback: number): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'number' && value >= 0 && Number.isFinite(value)) return value;
    this.fail(key, 'a finite number >= 0');
    return fallback;
  }

  /** A function, or undefined when absent. */
  fn<F extends (...args: never[]) => unknown>(key: string): F | undefined {
    const value = this.raw(key);
    if (value === undefined || typeof value === 'function') return value as F | undefined;
    this.fail(key, 'a function');
    return undefined;
  }

  /** One of `choices`, or `fallback` when absent. */
  oneOf<T>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (choices.includes(value as T)) return value as T;
    this.fail(key, `one of ${choices.map((c) => describeValue(c)).join(', ')}`);
    return fallback;
  }

  /** An array of error classes (constructors), or undefined when absent. */
  errorClasses(key: string): ErrorClassList | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every(isErrorClass)) {
      return [...(value as ErrorClassList)];
    }
    this.fail(key, 'an array of error classes');
    return undefined;
  }

  /** An object with the given methods (a store), or undefined when absent. */
  store<S>(key: string, methods: readonly string[], rule: string): S | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (
      typeof value === 'object' &&
      value !== null &&
      methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
    )
      return value as S;
    this.fail(key, rule);
    return undefined;
  }

  /** An `AbortSignal`, or undefined when absent. */
  signal(key: string): AbortSignal | undefined {
    const value = this.raw(key);
    if (value === undefined || value instanceof AbortSignal) return value;
    this.fail(key, 'an AbortSignal');
    return undefined;
  }

  /** Throws one `ConfigError` listing every problem recorded, if any. */
  throwIfInvalid(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/**
 * Splits an options object in two: the keys in `picked`, and the rest. Own enumerable string keys only, read once
 * each; anything that is not a plain object comes back as the rest, for the checker to refuse.
 */
export function splitOptions(
  options: unknown,
  picked: readonly string[],
): [rest: unknown, picked: Record<string, unknown>] {
  const rest: Record<string, unknown> = {};
  const chosen: Record<string, unknown> = {};
  try {
    if (!isPlainObject(options)) return [options, {}];
    for (const key of Object.keys(options))
      (picked.includes(key) ? chosen : rest)[key] = options[key];
  } catch {
    return [options, {}]; // a hostile object: the checker of the rest reports it
  }
  return [rest, chosen];
}

/**
 * Runs every check, collecting the problems of those that throw a `ConfigError`, and throws one `ConfigError`
 * listing them all: a user sees every mistake of a composite configuration (a Redis store and its engine) at once.
 * Returns the checks' results when all pass.
 */
export function checkAll<R extends unknown[]>(...checks: { [K in keyof R]: () => R[K] }): R {
  const notFunction = checks.findIndex((check) => typeof check !== 'function');
  if (notFunction >= 0)
    throw ConfigError.invalid(`checks[${notFunction}]`, 'a function', checks[notFunction]);
  const problems: string[] = [];
  const results = checks.map((check) => {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return results as R;
}

/**
 * Checks the per-call options of a `run`/`execute`/`acquire` method: absent, or a plain object with only
 * `known` keys and, when present, an `AbortSignal` under `signal`. Returns the ConfigError, or undefined when
 * they are fine. Cheap enough for every call that passes options; a call without them pays one comparison.
 */
export function callOptionsError(
  options: unknown,
  known: readonly string[],
): ConfigError | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) return ConfigError.invalid('options', 'an options object', options);
  for (const key in options) {
    if (!known.includes(key))
      return new ConfigError(`${key}: unknown option (known: ${known.join(', ')})`);
  }
  const signal = Object.hasOwn(options, 'signal') ? options.signal : undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    return ConfigError.invalid('signal', 'an AbortSignal', signal);
  return undefined;
}

/**
 * True for what `error instanceof value` accepts. An arrow function passes `typeof === 'function'` but has no
 * `prototype`: `instanceof` would throw a TypeError at every failed call, in place of the call's own error.
 */
function isErrorClass(value: unknown): boolean {
  if (typeof value !== 'function') return false;
  try {
    void (Object.create(null) instanceof value);
    return true;
  } catch {
    return false;
  }
}

type ErrorClassList = (abstract new (...args: never[]) => unknown)[];

/**
 * A plain object's own properties, each read once: options are checked from this copy, so what was checked is
 * what is used, and an object that throws while it is read (a revoked Proxy, a throwing getter or trap) ends in a
 * ConfigError like any other bad input.
 */
function readOptions(
  options: unknown,
): Record<string, unknown> | typeof UNREADABLE | typeof NOT_OPTIONS {
  try {
    if (!isPlainObject(options)) return NOT_OPTIONS;
    const copy: Record<PropertyKey, unknown> = {};
    for (const key of Reflect.ownKeys(options))
      Object.defineProperty(copy, key, {
        value: (options as Record<PropertyKey, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return copy;
  } catch {
    return UNREADABLE;
  }
}

function describeSafely(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return 'a value that throws when read';
  }
}

const UNREADABLE = 'unreadable';
const NOT_OPTIONS = 'not options';

/** True for `{}`-like objects (not arrays, class instances, or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
