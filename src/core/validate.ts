import { ConfigError, describeValue } from './errors.js';
import { toMs } from './duration.js';

/**
 * Collects every problem of an options object before anything is built, so a user sees all mistakes at once.
 * Each problem reads `path: expected <rule>, got <value>`.
 */
export class OptionsChecker {
  readonly problems: string[] = [];
  private source: Record<PropertyKey, unknown>;

  /**
   * @param options - what the user passed (anything: it is checked to be a plain object)
   * @param prefix - prepended to option names in messages (`'circuitBreaker.payments.'`), empty for constructors
   */
  constructor(
    options: unknown,
    /** Prepended to option names in messages (`'circuitBreaker.payments.'`), empty for constructors. */
    readonly prefix = '',
  ) {
    const path = prefix.replace(/\.$/, '');
    this.source = {};
    if (options === undefined) return;
    if (!isPlainObject(options)) {
      this.problems.push(
        `${path || 'options'}: expected an options object, got ${describeValue(options)}`,
      );
      return;
    }
    try {
      // Each option read once, into a copy: what was checked is what the engine gets, and an object that throws
      // while it is read (a revoked Proxy, a throwing getter) ends in a ConfigError naming what failed.
      this.source = readOwnProperties(options, path, path || 'options');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.problems.push(...error.problems);
    }
  }

  /** The raw value of `key`, from the copy made at construction (own properties only). */
  raw(key: string): unknown {
    return Object.hasOwn(this.source, key) ? this.source[key] : undefined;
  }

  /** The string keys of the options, as read at construction. */
  keys(): string[] {
    return Object.keys(this.source);
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
  onlyKnown(known: readonly PropertyKey[]): this {
    for (const key of Reflect.ownKeys(this.source)) {
      if (!known.includes(key)) {
        // Only the names a user types: a symbol known here is a mark dspu sets itself.
        const names = known.filter((name) => typeof name === 'string').join(', ');
        this.problems.push(`${this.prefix}${String(key)}: unknown option (known: ${names})`);
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
      if (error instanceof ConfigError) this.problems.push(error.message);
      else this.fail(key, 'a duration');
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

  /** A number in [min, max], or `fallback` when absent. */
  numberBetween<F>(key: string, fallback: F, min: number, max: number): number | F {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'number' && value >= min && value <= max) return value;
    this.fail(key, `a number from ${min} to ${max}`);
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

  /**
   * A function, or undefined when absent.
   * @typeParam F - the function type the option has
   */
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
    // Copied before it is checked, so a Proxy cannot answer the check and the engine differently.
    const classes = copyArray(value) as ErrorClassList | undefined;
    if (classes?.every(isErrorClass)) return classes;
    this.fail(key, 'an array of error classes');
    return undefined;
  }

  /**
   * A copy of the array under `key`, each item read once and passing `isItem`, or undefined when absent (or
   * refused: the problem is recorded, naming `rule`).
   */
  array(
    key: string,
    rule: string,
    isItem: (item: unknown) => boolean = () => true,
  ): unknown[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const items = copyArray(value);
    if (items?.every(isItem)) return items;
    this.fail(key, rule);
    return undefined;
  }

  /** An object with the given methods (a store), or undefined when absent. */
  store<S>(key: string, methods: readonly string[], rule: string): S | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'object' && value !== null && hasMethods(value, methods))
      return value as S;
    this.fail(key, rule);
    return undefined;
  }

  /** An `AbortSignal`, or undefined when absent. */
  signal(key: string): AbortSignal | undefined {
    const value = this.raw(key);
    if (value === undefined || isAbortSignal(value)) return value;
    this.fail(key, 'an AbortSignal');
    return undefined;
  }

  /** Throws one `ConfigError` listing every problem recorded, if any. */
  throwIfInvalid(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/**
 * Splits an options object in two: the keys in `picked`, and the rest. Own enumerable keys, symbols included, read
 * once each: a key neither side knows reaches the rest's checker, which refuses it, as it would without the split.
 * Anything that is not a plain object comes back as the rest, for the checker to refuse.
 */
export function splitOptions(
  options: unknown,
  picked: readonly PropertyKey[],
): [rest: unknown, picked: Record<PropertyKey, unknown>] {
  const rest: Record<PropertyKey, unknown> = {};
  const chosen: Record<PropertyKey, unknown> = {};
  try {
    if (!isPlainObject(options)) return [options, {}];
    const given: Record<PropertyKey, unknown> = options;
    for (const key of Reflect.ownKeys(given)) {
      if (Object.prototype.propertyIsEnumerable.call(given, key))
        (picked.includes(key) ? chosen : rest)[key] = given[key];
    }
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
 * Checks what an engine's public entry (`execute`, `protect`, `run`) was given: a function, and per-call
 * options. Returns the ConfigError to reject with, or the options to use in place of the caller's (see
 * {@link readCallOptions}). Checked before anything runs: a TypeError from calling a non-function would
 * otherwise be retried, counted or answered like any error of the call.
 */
export function readEntry<O extends object>(
  fn: unknown,
  options: O | undefined,
  known: readonly string[],
): O | undefined | ConfigError {
  if (typeof fn !== 'function') return ConfigError.invalid('fn', 'a function', fn);
  return options === undefined ? undefined : readCallOptions(options, known);
}

/**
 * Checks the per-call options of a `run`/`execute`/`acquire` method: absent, or a plain object with only
 * `known` keys and, when present, an `AbortSignal` under `signal`. Returns the ConfigError, or a copy of the
 * options for the engine to use in place of the caller's object: each value read once, so what was checked is
 * what is used (a getter or a Proxy answers once), and only own enumerable keys, as a spread reads them (an
 * option set on `Object.prototype` is not the caller's). Cheap enough for every call that passes options; a call
 * without them pays one comparison.
 */
export function readCallOptions<O extends object>(
  options: O | undefined,
  known: readonly string[],
): O | undefined | ConfigError {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) return ConfigError.invalid('options', 'an options object', options);
  // Every call option an engine reads is an own field of the copy from the start, so a key the caller left out
  // is never looked up on Object.prototype; one shape for every engine keeps their entries monomorphic.
  const copy: Record<string, unknown> = {
    signal: undefined,
    maxWait: undefined,
    tokens: undefined,
  };
  let reading = 'options';
  try {
    // for-in and hasOwn, not Object.keys: no array per call. Symbol keys are never read from call options.
    for (const key in options) {
      if (!Object.hasOwn(options, key)) continue;
      if (!known.includes(key))
        return new ConfigError(`${key}: unknown option (known: ${known.join(', ')})`);
      reading = key;
      copy[key] = options[key];
    }
  } catch (error) {
    return unreadable(reading, error);
  }
  const signal = copy.signal;
  if (signal !== undefined && !isAbortSignal(signal))
    return ConfigError.invalid('signal', 'an AbortSignal', signal);
  return copy as O;
}

/**
 * A copy of an array, each element read once; undefined, never a throw, for anything else or an array that
 * cannot be read (a revoked Proxy, a trap that throws).
 */
export function copyArray(value: unknown): unknown[] | undefined {
  try {
    return Array.isArray(value) ? Array.prototype.slice.call(value) : undefined;
  } catch {
    return undefined;
  }
}

/** `instanceof AbortSignal` that answers false, not throws, for a revoked Proxy or a throwing trap. */
/**
 * A real AbortSignal: `instanceof` is not enough, since `Object.create(AbortSignal.prototype)` passes it and then
 * fails inside the engine with a TypeError. The class's own `aborted` getter throws for anything but a signal.
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (!isInstance(value, AbortSignal)) return false;
  try {
    Reflect.get(AbortSignal.prototype, 'aborted', value);
    return true;
  } catch {
    return false;
  }
}

/** `value instanceof Class`, answering false rather than throwing for a revoked Proxy or a trap that throws. */
export function isInstance<T>(
  value: unknown,
  Class: abstract new (...args: never[]) => T,
): value is T {
  try {
    return value instanceof Class;
  } catch {
    return false;
  }
}

/**
 * A copy of a plain object's own properties (symbol keys included), each read once, on a null prototype: what
 * was checked is then what is used, however the original behaves (a Proxy, getters). Throws a ConfigError
 * naming `path.key` when one of its properties cannot be read, `whole` when its keys cannot be listed.
 */
export function readOwnProperties(
  object: Record<PropertyKey, unknown>,
  path: string,
  whole = path,
): Record<PropertyKey, unknown> {
  const copy = Object.create(null) as Record<PropertyKey, unknown>;
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(object);
  } catch (error) {
    throw new ConfigError(`${whole}: could not be read (${describeThrown(error)})`);
  }
  for (const key of keys) {
    try {
      copy[key] = object[key];
    } catch (error) {
      const at = path ? `${path}.${String(key)}` : String(key);
      throw new ConfigError(`${at}: could not be read (${describeThrown(error)})`);
    }
  }
  return copy;
}

/** The ConfigError for an option (or options object) at `path` whose reading threw `error`. */
export function unreadable(path: string, error: unknown): ConfigError {
  return new ConfigError(`${path}: could not be read (${describeThrown(error)})`);
}

/**
 * Runs `read`, which reads a value the user handed over (`what`): an error a Proxy trap or a getter throws
 * meanwhile becomes a ConfigError naming `what`; a ConfigError passes as it is.
 */
export function readingUserValue<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw unreadable(what, error);
  }
}

/** What was thrown while reading an option, for a message. */
function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) {
      const text = `${error.name}: ${error.message}`;
      return text.length > 80 ? `${text.slice(0, 77)}...` : text;
    }
  } catch {
    // an error whose name or message cannot be read
  }
  return describeValue(error);
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

/** A list of error classes, as an option such as a breaker's `exceptions` gives it. */
export type ErrorClassList = (abstract new (...args: never[]) => unknown)[];

/**
 * True for `{}`-like objects (not arrays, class instances, or null), frozen or with a null prototype; false,
 * never a throw, for a revoked Proxy or one whose `getPrototypeOf` trap throws.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  try {
    const proto = Object.getPrototypeOf(value) as unknown;
    return proto === Object.prototype || proto === null;
  } catch {
    return false;
  }
}

// Answers false, rather than throwing, for a revoked Proxy or a method getter that throws.
function hasMethods(value: object, methods: readonly string[]): boolean {
  try {
    return methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
  } catch {
    return false;
  }
}
