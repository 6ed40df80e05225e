import type { Duration } from '../../core/duration.js';
import { describeValue } from '../../core/errors.js';
import { OptionsChecker } from '../../core/validate.js';
import { isThenable } from '../../core/thenable.js';
import type { PermitStore } from './permit-store.js';

/** Options of {@link gatherWithLimit}. */
export interface GatherOptions {
  /** How many tasks may run at once: a positive integer. Required. */
  limit: number;
  /** When it aborts, no new task starts, the tasks' signal aborts, and the call rejects with its reason. */
  signal?: AbortSignal;
  /** Wait for every task and report each outcome instead of failing fast on the first rejection. */
  settle?: boolean;
}

/** Options of {@link mapWithLimit}. */
export interface MapWithLimitOptions {
  /** How many calls may run at once, and how many results may wait for the consumer: a positive integer. */
  limit: number;
  /** When it aborts, no new call starts, the calls' signal aborts, and iteration throws its reason. */
  signal?: AbortSignal;
}

/** Options of {@link ConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** How many calls may hold a permit at once: a positive integer. Required. */
  limit: number;
  /** How many calls may wait for a permit; one more is rejected at once. Default `Infinity`. */
  maxQueue?: number;
  /** How long a call may wait for a permit before it is rejected. Default: no limit. */
  maxWait?: Duration;
  /** Where permits come from. Default: this process's own counter of `limit` permits. */
  store?: PermitStore;
}

/** Limiter options with defaults applied and durations in ms. */
export interface ResolvedConcurrencyLimiterOptions {
  readonly limit: number;
  readonly maxQueue: number;
  /** `Infinity` when the option was omitted. */
  readonly maxWait: number;
}

/** Gather options once validated. */
export interface ResolvedGatherOptions {
  readonly limit: number;
  readonly signal: AbortSignal | undefined;
  readonly settle: boolean;
}

/** The option names `ConcurrencyLimiterOptions` accepts. */
export const CONCURRENCY_LIMITER_OPTION_KEYS = ['limit', 'maxQueue', 'maxWait', 'store'] as const;

const POSITIVE_INTEGER = 'a positive integer';

/** The limit every concurrency helper requires: present, an integer, at least 1. */
function requiredLimit(checker: OptionsChecker): number {
  return checker.required('limit', POSITIVE_INTEGER) ? checker.integer('limit', 1, 1) : 1;
}

/**
 * Validates and resolves limiter options; problems are recorded on `checker`, the caller throws.
 * A bare number is read as `{ limit }`. Defaults: maxQueue Infinity, maxWait none.
 */
export function resolveConcurrencyLimiterOptions(
  checker: OptionsChecker,
): ResolvedConcurrencyLimiterOptions {
  checker.onlyKnown(CONCURRENCY_LIMITER_OPTION_KEYS);
  checker.store('store', ['take', 'give'], 'a PermitStore (an object with take() and give())');
  return {
    limit: requiredLimit(checker),
    maxQueue: checker.integer('maxQueue', Infinity, 0, Infinity),
    maxWait: checker.duration('maxWait', Infinity),
  };
}

/** Validates {@link GatherOptions}; throws one `ConfigError` listing every problem. */
export function resolveGatherOptions(options: unknown): ResolvedGatherOptions {
  const checker = new OptionsChecker(options).onlyKnown(['limit', 'signal', 'settle']);
  const resolved = {
    limit: requiredLimit(checker),
    signal: checker.signal('signal'),
    settle: checker.oneOf('settle', [true, false], false),
  };
  checker.throwIfInvalid();
  return resolved;
}

/** Validates {@link MapWithLimitOptions}; throws one `ConfigError` listing every problem. */
export function resolveMapOptions(options: unknown): ResolvedGatherOptions {
  const checker = new OptionsChecker(options).onlyKnown(['limit', 'signal']);
  const resolved = {
    limit: requiredLimit(checker),
    signal: checker.signal('signal'),
    settle: false,
  };
  checker.throwIfInvalid();
  return resolved;
}

/** The rule a task of {@link gatherWithLimit} must follow, for error messages. */
export function describeBadTask(index: number, task: unknown): string {
  const got = isThenable(task)
    ? 'a promise (it is already running, so no limit applies to it: pass `() => work()` instead)'
    : describeValue(task);
  return `tasks[${index}]: expected a function that starts the task (a thunk), got ${got}`;
}
