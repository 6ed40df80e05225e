import type { Duration } from '../../../core/duration.js';
import type { OptionsChecker } from '../../../core/validate.js';
import type { ErrorClass } from '../../retry/retry.options.js';

/** How an adaptive limiter moves its limit. */
export type AdaptiveAlgorithm = 'gradient' | 'aimd' | 'vegas';

/** Options of {@link AdaptiveConcurrencyLimiter}. */
export interface AdaptiveConcurrencyOptions {
  /**
   * How the limit moves: `'gradient'` (latency against the no-load latency; the default), `'vegas'` (estimated
   * queue size) or `'aimd'` (+1 per good window, × `backoffRatio` on a drop).
   */
  algorithm?: AdaptiveAlgorithm;
  /** The limit to start from: an integer within [minLimit, maxLimit]. Default 20 (or maxLimit, if lower). */
  initialLimit?: number;
  /** The limit never goes below this. Default 1. */
  minLimit?: number;
  /** The limit never goes above this. Default 200. */
  maxLimit?: number;
  /** How many calls may wait for a permit; one more is rejected at once. Default `Infinity`. */
  maxQueue?: number;
  /** How long a call may wait for a permit before it is rejected. Default: no limit. */
  maxWait?: Duration;
  /** AIMD only: a success slower than this is a drop, so the limit follows a dependency that slows down. */
  latencyThreshold?: Duration;
  /** AIMD only: what a drop multiplies the limit by, in (0, 1). Default 0.9. */
  backoffRatio?: number;
  /** Gradient only: how far the limit moves toward its target in one window, in (0, 1]. Default 0.2. */
  smoothing?: number;
  /** Gradient and vegas: how often the no-load latency is measured again. Default `'30s'`. */
  probeInterval?: Duration;
  /**
   * Errors that count as drops, matched with `instanceof`. Default: every error. A `TimeoutError` and a
   * `ConcurrencyLimitError` (from a limiter downstream) always count.
   */
  exceptions?: readonly ErrorClass[];
}

/** Adaptive limiter options with defaults applied and durations in ms. */
export interface ResolvedAdaptiveConcurrencyOptions {
  readonly algorithm: AdaptiveAlgorithm;
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly maxQueue: number;
  /** `Infinity` when the option was omitted. */
  readonly maxWait: number;
  /** `Infinity` when the option was omitted. */
  readonly latencyThreshold: number;
  readonly backoffRatio: number;
  readonly smoothing: number;
  readonly probeIntervalMs: number;
  readonly exceptions: readonly ErrorClass[] | undefined;
}

/** The option names `AdaptiveConcurrencyOptions` accepts. */
export const ADAPTIVE_OPTION_KEYS = [
  'algorithm',
  'initialLimit',
  'minLimit',
  'maxLimit',
  'maxQueue',
  'maxWait',
  'latencyThreshold',
  'backoffRatio',
  'smoothing',
  'probeInterval',
  'exceptions',
] as const;

const ALGORITHMS: readonly AdaptiveAlgorithm[] = ['gradient', 'aimd', 'vegas'];

// Options that only some algorithms read: given to another, they are a mistake, not a setting.
const ONLY_FOR: Readonly<Record<string, readonly AdaptiveAlgorithm[]>> = {
  latencyThreshold: ['aimd'],
  backoffRatio: ['aimd'],
  smoothing: ['gradient'],
  probeInterval: ['gradient', 'vegas'],
};

const MAX_LIMIT = 1_000_000;

/**
 * Validates and resolves adaptive limiter options; problems are recorded on `checker`, the caller throws.
 * Defaults: gradient, limits 20 within [1, 200], no queue bound, no maxWait, probe every 30 s.
 */
export function resolveAdaptiveOptions(
  checker: OptionsChecker,
): ResolvedAdaptiveConcurrencyOptions {
  checker.onlyKnown(ADAPTIVE_OPTION_KEYS);
  const algorithm = checker.oneOf('algorithm', ALGORITHMS, 'gradient');
  for (const [option, algorithms] of Object.entries(ONLY_FOR))
    if (checker.raw(option) !== undefined && !algorithms.includes(algorithm))
      checker.fail(
        option,
        `no ${option} for algorithm '${algorithm}' (only ${algorithms.join(', ')} use it)`,
      );
  const minLimit = checker.integer('minLimit', 1, 1, MAX_LIMIT);
  const maxLimit = checker.integer('maxLimit', Math.max(200, minLimit), 1, MAX_LIMIT);
  if (maxLimit < minLimit) checker.fail('maxLimit', `at least minLimit (${minLimit})`);
  const initialLimit = checker.integer(
    'initialLimit',
    Math.min(maxLimit, Math.max(minLimit, 20)),
    1,
    MAX_LIMIT,
  );
  if (
    checker.raw('initialLimit') !== undefined &&
    (initialLimit < minLimit || initialLimit > maxLimit)
  )
    checker.fail(
      'initialLimit',
      `an integer from minLimit (${minLimit}) to maxLimit (${maxLimit})`,
    );
  const backoffRatio = checker.nonNegativeNumber('backoffRatio', 0.9);
  if (!(backoffRatio > 0 && backoffRatio < 1))
    checker.fail('backoffRatio', 'a number between 0 and 1');
  const smoothing = checker.nonNegativeNumber('smoothing', 0.2);
  if (!(smoothing > 0 && smoothing <= 1)) checker.fail('smoothing', 'a number in (0, 1]');
  const probeIntervalMs = checker.duration('probeInterval', 30_000);
  if (probeIntervalMs <= 0) checker.fail('probeInterval', 'a duration greater than 0');
  const latencyThreshold = checker.duration('latencyThreshold', Infinity);
  if (latencyThreshold <= 0) checker.fail('latencyThreshold', 'a duration greater than 0');
  return {
    algorithm,
    initialLimit,
    minLimit,
    maxLimit,
    maxQueue: checker.integer('maxQueue', Infinity, 0, Infinity),
    maxWait: checker.duration('maxWait', Infinity),
    latencyThreshold,
    backoffRatio,
    smoothing,
    probeIntervalMs,
    exceptions: checker.errorClasses('exceptions'),
  };
}
