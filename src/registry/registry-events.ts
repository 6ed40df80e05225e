import type { CircuitBreakerEvents } from '../patterns/circuit-breaker/index.js';
import type { ConcurrencyLimiterEvents } from '../patterns/concurrency/index.js';
import type { FallbackEvents } from '../patterns/fallback/index.js';
import type { HedgeEvents } from '../patterns/hedge/index.js';
import type { RateLimiterEvents } from '../patterns/rate-limit/index.js';
import type { RetryEvents } from '../patterns/retry/index.js';
import type { TimeoutEvents } from '../patterns/timeout/index.js';

/** Fields the registry adds to every event it re-emits. */
export interface EventSource {
  /** The policy kind of the engine that emitted the event (a policy of your own: its `kind`). */
  readonly kind: string;
  /** The registry name, or `Class.method` for a decorator's inline policy. */
  readonly name: string;
}

type Sourced<E> = { [K in keyof E]: E[K] & EventSource };
type Merge<A, B> = {
  [K in keyof A | keyof B]: (K extends keyof A ? A[K] : never) | (K extends keyof B ? B[K] : never);
};

/** Every event the registry re-emits, by type, with its payload plus `kind` and `name`. */
export type RegistryEvents = Merge<
  Merge<
    Merge<Sourced<RetryEvents>, Sourced<TimeoutEvents>>,
    Merge<Sourced<CircuitBreakerEvents>, Sourced<RateLimiterEvents>>
  >,
  Merge<Merge<Sourced<FallbackEvents>, Sourced<ConcurrencyLimiterEvents>>, Sourced<HedgeEvents>>
>;
