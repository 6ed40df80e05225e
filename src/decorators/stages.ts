import type { CircuitBreaker } from '../patterns/circuit-breaker/index.js';
import type { ConcurrencyLimiter } from '../patterns/concurrency/index.js';
import type { FallbackPolicy } from '../patterns/fallback/index.js';
import type { RateLimitCallOptions, RateLimiter } from '../patterns/rate-limit/index.js';
import type { RetryPolicy } from '../patterns/retry/index.js';
import type { Timeout } from '../patterns/timeout/index.js';
import type { PolicyDescriptor } from './metadata.js';

/** One call of a woven method as it travels down the pipeline. */
export interface Invocation {
  readonly target: unknown;
  readonly args: unknown[];
}

/** A pipeline step: runs the rest of the pipeline under one policy. */
export type Stage = (invocation: Invocation) => unknown;

/** Wraps `next` in the engine of `policy`. Each adapter is made once per pipeline, never per call. */
export function stageFor(policy: PolicyDescriptor, engine: object, next: Stage): Stage {
  switch (policy.kind) {
    case 'retry': {
      const retry = engine as RetryPolicy;
      return (invocation) => retry.executeWith(next, invocation);
    }
    case 'timeout': {
      const timeout = engine as Timeout;
      return (invocation) => timeout.executeWith(next, invocation);
    }
    case 'circuitBreaker': {
      const breaker = engine as CircuitBreaker;
      return (invocation) => breaker.executeWith(next, invocation);
    }
    case 'rateLimiter': {
      const limiter = engine as RateLimiter;
      const call = policy.call as RateLimitCallOptions | undefined;
      return (invocation) => limiter.executeWith(next, invocation, call);
    }
    case 'concurrency': {
      const limiter = engine as ConcurrencyLimiter;
      return (invocation) => limiter.executeWith(next, invocation);
    }
    case 'fallback': {
      const fallback = engine as FallbackPolicy;
      return (invocation) =>
        fallback.executeWith(next, invocation, invocation.args, invocation.target);
    }
    default:
      throw new Error(`dspu: no stage for ${String(policy.kind)}`);
  }
}
