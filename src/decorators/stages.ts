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
    default:
      throw new Error(`dspu: no stage for ${policy.kind}`);
  }
}
