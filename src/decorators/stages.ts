import type { CallOptions, Invocation, Policy } from '../core/policy.js';

/** A pipeline step: runs the rest of the pipeline under one policy. */
export type Stage = (invocation: Invocation) => unknown;

/**
 * Wraps `next` in `policy`, whatever its kind: every policy speaks the same contract. `call` holds the
 * decorator's per-call options (a rate limit's `tokens`). Made once per pipeline, never per call.
 */
export function stageFor(policy: Policy, call: CallOptions | undefined, next: Stage): Stage {
  return (invocation) => policy.executeWith(next, invocation, call);
}
