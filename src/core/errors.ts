/**
 * Base class of every error dspu raises. Each subclass carries a stable `code` that callers can switch on
 * without `instanceof` (which breaks when two copies of dspu are loaded).
 */
export class ResilienceError extends Error {
  /** A stable machine-readable identifier, e.g. `ERR_TIMEOUT`. */
  readonly code: string;

  constructor(message: string, code = 'ERR_RESILIENCE', options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Invalid configuration: raised at construction or decoration time, never at first call. The message names
 * the option, the value received and the rule it broke; `problems` lists each one when there are several.
 */
export class ConfigError extends ResilienceError {
  /** One line per problem, each naming the option (or path), the rule and the value received. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(
      list.length === 1
        ? list[0]
        : `${list.length} configuration problems:\n  ${list.join('\n  ')}`,
      'ERR_CONFIG',
    );
    this.problems = list;
  }

  /** Builds the one-problem error `option: expected <rule>, got <value>`. */
  static invalid(option: string, rule: string, value: unknown): ConfigError {
    return invalidOption(option, rule, value);
  }
}

// Outside the class: a class body that names its own class is renamed by bundlers (`class _ConfigError`), and
// the error's `name` comes from its class.
function invalidOption(option: string, rule: string, value: unknown): ConfigError {
  return new ConfigError(`${option}: expected ${rule}, got ${describeValue(value)}`);
}

/** Rejected because the circuit is open (or half-open with every trial slot taken). */
export class CircuitBreakerError extends ResilienceError {
  /** The breaker state that rejected the call: `'open'` or `'half_open'`. */
  readonly state: string;
  /** Milliseconds until the breaker will let a trial call through (0 when unknown or now). */
  readonly retryAfter: number;
  /**
   * True when the circuit was forced open by `isolate()`: it stays open until `reset()`, so `retryAfter` (0)
   * promises nothing, and the NestJS filter sends no `Retry-After`.
   */
  readonly isolated: boolean;

  constructor(state: string, retryAfter: number, message?: string, isolated = false) {
    super(
      message ?? `Circuit is ${state}; retry after ${Math.ceil(retryAfter)} ms`,
      'ERR_CIRCUIT_OPEN',
    );
    this.state = state;
    this.retryAfter = retryAfter;
    this.isolated = isolated;
  }

  /** The rejection of a circuit forced open by `isolate()`. */
  static isolated(state: string): CircuitBreakerError {
    return isolatedCircuit(state);
  }
}

// Outside the class, as invalidOption is.
function isolatedCircuit(state: string): CircuitBreakerError {
  return new CircuitBreakerError(state, 0, 'Circuit is isolated: open until reset()', true);
}

/** The operation did not settle within its time budget. */
export class TimeoutError extends ResilienceError {
  /** The time budget that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, message?: string) {
    super(message ?? `Operation timed out after ${timeout} ms`, 'ERR_TIMEOUT');
    this.timeout = timeout;
  }
}

/** A rate limiter refused: the wait for tokens would have exceeded `maxWait`. */
export class RateLimitExceededError extends ResilienceError {
  /** Milliseconds the caller would have had to wait for the tokens. */
  readonly retryAfter: number;

  constructor(retryAfter: number, message?: string) {
    super(
      message ?? `Rate limit exceeded; tokens available in ${Math.ceil(retryAfter)} ms`,
      'ERR_RATE_LIMITED',
    );
    this.retryAfter = retryAfter;
  }
}

/** A concurrency limiter refused: its queue was full or the wait for a permit exceeded `maxWait`. */
export class ConcurrencyLimitError extends ResilienceError {
  constructor(message: string) {
    super(message, 'ERR_CONCURRENCY_LIMIT');
  }
}

/**
 * The abort reason of a hedged attempt that another attempt of the same call beat: its signal (and
 * `currentSignal()` inside it) aborts with this, so the work can stop. It never reaches the caller.
 */
export class HedgeLostError extends ResilienceError {
  /** The attempt that won (1 is the first). */
  readonly winner: number;

  constructor(winner: number) {
    super(
      `Attempt ${winner} of this hedged call won; this attempt is no longer needed`,
      'ERR_HEDGE_LOST',
    );
    this.winner = winner;
  }
}

/**
 * The policy was reset (its `reset()`, or `resetResilience()` of `dspu/testing`) while this call waited in it or
 * ran under its deadline: the call ends rather than wait on state that no longer exists.
 */
export class PolicyResetError extends ResilienceError {
  constructor(what: string) {
    super(`${what} was reset while this call was in it`, 'ERR_POLICY_RESET');
  }
}

/** The sync/async bridge could not run a function on a worker. */
export class BridgeError extends ResilienceError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_BRIDGE', options);
  }
}

/**
 * Renders a value for an error message: strings quoted, long values shortened. Never throws, whatever the
 * value: a revoked Proxy, a trap or a getter that throws is described without being looked into further.
 */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return `${typeof value === 'function' ? 'a function' : 'an object'} that cannot be inspected`;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(shorten(value));
  if (typeof value === 'bigint') return `${shorten(String(value))}n`;
  if (typeof value === 'symbol') return shorten(String(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) {
    return String(value);
  }
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (proto && proto !== Object.prototype && proto.constructor?.name)
    return `a ${proto.constructor.name} instance`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // a cycle, a BigInt inside, a toJSON that throws: fall back to the tag
  }
  return text === undefined ? Object.prototype.toString.call(value) : shorten(text);
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Abort reasons are usually errors; a non-Error reason is wrapped so dspu never rejects with a non-Error. Never
 * throws: it runs inside abort listeners, where a throw would leave every other call on the signal waiting.
 */
export function toError(reason: unknown): Error {
  if (isError(reason)) return reason;
  const error = new Error(`Aborted: ${printReason(reason)}`);
  error.name = 'AbortError';
  (error as Error & { cause: unknown }).cause = reason;
  return error;
}

// `instanceof` asks a Proxy's getPrototypeOf trap, which may throw (or be revoked).
function isError(reason: unknown): reason is Error {
  try {
    return reason instanceof Error;
  } catch {
    return false;
  }
}

// String() refuses null-prototype objects and objects whose toString throws.
function printReason(reason: unknown): string {
  try {
    return String(reason);
  } catch {
    return describeValue(reason);
  }
}

/**
 * The `retryAfter` an error carries, in ms (a 429's or 503's Retry-After, dspu's own errors), or 0 when it
 * carries none usable. Never throws, whatever the error.
 */
export function retryAfterOf(error: unknown): number {
  const value = readRetryAfter(error);
  return typeof value === 'number' && value > 0 && value !== Infinity ? value : 0;
}

/** An error's `retryAfter` as it is, or undefined when it has none or it cannot be read (a throwing getter, a revoked Proxy). */
export function readRetryAfter(error: unknown): unknown {
  try {
    return (error as { retryAfter?: unknown } | null | undefined)?.retryAfter;
  } catch {
    return undefined;
  }
}

/**
 * Whether a policy given `exceptions` acts on `error`: every error when there is no list, else one of a class it
 * names; a `ConfigError` (a mistake in the code) only when named. An error that cannot be inspected (a revoked
 * Proxy) is of no class a list names.
 */
export function matchesExceptions(
  error: unknown,
  exceptions: readonly ErrorClass[] | undefined,
): boolean {
  if (isUnlistedConfigError(error, exceptions)) return false;
  try {
    return exceptions === undefined || exceptions.some((c) => error instanceof c);
  } catch {
    return exceptions === undefined;
  }
}

/**
 * Whether `error` is a `ConfigError` that `exceptions` does not name (by `ConfigError` or a subclass of it): a
 * mistake in the code, not a failure of what it calls, which no policy retries, counts or answers unless told
 * to by name.
 */
export function isUnlistedConfigError(
  error: unknown,
  exceptions: readonly ErrorClass[] | undefined,
): boolean {
  return isUnlistedError(error, ConfigError, exceptions);
}

type ErrorClass = abstract new (...args: never[]) => unknown;

/** Whether `error` is a `Class` that `exceptions` does not name (by `Class` or a subclass of it). */
export function isUnlistedError(
  error: unknown,
  Class: ErrorClass,
  exceptions: readonly ErrorClass[] | undefined,
): boolean {
  try {
    if (!(error instanceof Class)) return false;
    return !exceptions?.some(
      (c) => (c === Class || c.prototype instanceof Class) && error instanceof c,
    );
  } catch {
    return false; // an error that cannot be inspected (a revoked Proxy) is no error of dspu's
  }
}
