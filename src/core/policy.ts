import type { EventEmitter } from './events.js';

/**
 * The rest of a call, as a policy sees it: the next policy of a pipeline, or the user's function. A policy calls
 * it with the invocation it was given, never with another.
 */
export type Next<I, T> = (invocation: I) => T | PromiseLike<T>;

/** The per-call options every policy's entry accepts. */
export interface CallOptions {
  /**
   * The caller's signal. When it aborts, the policy ends its part of the call at once, rejecting with the
   * signal's reason; the signal also reaches `currentSignal()` inside the call and every policy nested in it.
   */
  readonly signal?: AbortSignal;
}

/**
 * The one contract every dspu engine implements and the decorator pipeline calls: a kind, typed events, and one
 * entry that runs the rest of the call. A stage of a pipeline needs nothing else, so a policy of your own plugs in
 * like a built-in one (`@UsePolicy(policy)`, or a registry entry under `policies`).
 *
 * The rules every implementation follows:
 * - call `next(invocation)` at most once per try, with the call context current (`runInContext`) when it
 *   changes what `currentSignal()` or `currentAttempt()` should answer;
 * - when the caller's signal (`options.signal`, or the enclosing call's through `activeContext()`) aborts, do
 *   nothing more for the call: no further try, no event, no state change;
 * - reject with `Error` instances only.
 *
 * @typeParam Events - the map of event types to payloads of `events`
 * @typeParam Options - the per-call options `executeWith` accepts (at least `signal`)
 * @example
 * ```ts
 * import { EventEmitter, type CallOptions, type Next, type Policy } from 'dspu';
 *
 * class Logged implements Policy<{ call: { ms: number } }> {
 *   readonly kind = 'logged';
 *   readonly events = new EventEmitter<{ call: { ms: number } }>();
 *   async executeWith<I, T>(next: Next<I, T>, invocation: I, _options?: CallOptions): Promise<T> {
 *     const started = Date.now();
 *     try {
 *       return await next(invocation);
 *     } finally {
 *       this.events.emit('call', { ms: Date.now() - started });
 *     }
 *   }
 * }
 * ```
 */
export interface Policy<
  // `any`, not `object`: a policy with events of its own must be a `Policy` (listener types are contravariant).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  Events extends object = any,
  Options extends CallOptions = CallOptions,
> {
  /** What kind of policy this is (`'retry'`, `'circuitBreaker'`, … or a name of your own). */
  readonly kind: string;
  /** The policy's typed events; the registry re-emits them with the policy's kind and name. */
  readonly events: EventEmitter<Events>;
  /**
   * Runs `next(invocation)` under this policy: the rest of the call. Resolves or rejects with what the call
   * came to through this policy.
   */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: Options): Promise<T>;
}

/**
 * One call of a decorated method or a wrapped function, as it travels from policy to policy: the `this` and the
 * arguments. Policies pass it on untouched; a fallback hands them to its handler.
 */
export class Invocation {
  declare readonly target: unknown;
  declare readonly args: readonly unknown[];

  constructor(target: unknown, args: readonly unknown[]) {
    // Assigned, not declared as class fields, which V8 defines one by one (bench/README.md).
    this.target = target;
    this.args = args;
  }
}

/** The `next` of a call made of a function without arguments: the function is its own invocation. */
export function callThunk<T>(fn: () => T | PromiseLike<T>): T | PromiseLike<T> {
  return fn();
}

/** True for an object that implements {@link Policy}; never throws, whatever the value. */
export function isPolicy(value: unknown): value is Policy {
  if (typeof value !== 'object' || value === null) return false;
  try {
    const candidate = value as Partial<Policy>;
    return (
      typeof candidate.kind === 'string' &&
      typeof candidate.executeWith === 'function' &&
      typeof candidate.events === 'object' &&
      candidate.events !== null
    );
  } catch {
    return false; // a revoked Proxy, a throwing getter
  }
}

/** The `next` that calls `fn` with an {@link Invocation}'s `this` and arguments: made once per wrapper. */
export function applyTo<R>(fn: (...args: never[]) => R): (invocation: Invocation) => R {
  return (invocation) =>
    (fn as (...args: unknown[]) => R).apply(invocation.target, invocation.args as unknown[]);
}
