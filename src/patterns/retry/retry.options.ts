import type { Duration } from '../../core/duration.js';
import { OptionsChecker } from '../../core/validate.js';
import { RetryBudget } from '../retry-budget/retry-budget.js';

/** How the wait between tries grows. */
export const BackoffStrategy = {
  /** `baseDelay * 2^(n-1)`: 1s, 2s, 4s, 8s, 16s for a base of 1s. */
  EXPONENTIAL: 'exponential',
  /** `baseDelay * n`: 2s, 4s, 6s, 8s, 10s for a base of 2s. */
  LINEAR: 'linear',
  /** `baseDelay` every time. */
  CONSTANT: 'constant',
} as const;
/** One of the {@link BackoffStrategy} values. */
export type BackoffStrategy = (typeof BackoffStrategy)[keyof typeof BackoffStrategy];

/** Randomisation of delays: `true`/`'full'` draws from [0, d]; `'equal'` from [d/2, d]. */
export type Jitter = boolean | 'full' | 'equal';

/** A class of errors, matched with `instanceof`. */
export type ErrorClass = abstract new (...args: never[]) => unknown;

/** Options of {@link retry} and `@Retry`. */
export interface RetryOptions<T = unknown> {
  /** Tries in all, the first call included (3 = one call and two retries). Default 3. */
  maxAttempts?: number;
  /** How delays grow. Default `'exponential'`. */
  strategy?: BackoffStrategy;
  /** The first delay. Default `'1s'`. */
  baseDelay?: Duration;
  /** No computed delay exceeds this. Default `'60s'`; must be at least `baseDelay`. */
  maxDelay?: Duration;
  /** Randomise each delay. Default false. */
  jitter?: Jitter;
  /** Retry only errors that are `instanceof` one of these. Default: every error. */
  exceptions?: readonly ErrorClass[];
  /** Retry only errors for which this returns true (AND-ed with `exceptions`). */
  retryIf?: (error: unknown) => boolean;
  /** Awaited before each wait; `attempt` is the number of the try that failed (1-based). */
  onRetry?: (attempt: number, error: unknown) => void | Promise<void>;
  /** Treat a returned value as a failure to retry (the last value is returned when tries run out). */
  retryOnResult?: (value: T) => boolean;
  /**
   * A custom wait in ms before the next try, capped by `maxDelay`; `undefined` (or anything but a finite
   * number of at least 0) falls back to the strategy.
   */
  delay?: (attempt: number, error: unknown) => number | undefined;
  /**
   * The {@link RetryBudget} retries draw on: a retry that finds it empty is not made (the call gives up with its
   * last error). An instance, or the name of a registry's `retryBudget` entry (named policies and decorators
   * only: a name resolves through a registry).
   */
  budget?: RetryBudget | string;
}

/** Retry options with defaults applied and durations in ms. */
export interface ResolvedRetryOptions {
  readonly maxAttempts: number;
  readonly strategy: BackoffStrategy;
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly jitter: false | 'full' | 'equal';
  readonly exceptions: readonly ErrorClass[] | undefined;
  /** See {@link RetryOptions.retryIf}. */
  readonly retryIf: ((error: unknown) => boolean) | undefined;
  /** See {@link RetryOptions.onRetry}. */
  readonly onRetry: ((attempt: number, error: unknown) => void | Promise<void>) | undefined;
  /** See {@link RetryOptions.retryOnResult}. */
  readonly retryOnResult: ((value: unknown) => boolean) | undefined;
  /** See {@link RetryOptions.delay}. */
  readonly delay: ((attempt: number, error: unknown) => number | undefined) | undefined;
  /** See {@link RetryOptions.budget}: a name has been resolved to its instance by then. */
  readonly budget: RetryBudget | undefined;
}

/** The option names `RetryOptions` accepts. */
export const RETRY_OPTION_KEYS = [
  'maxAttempts',
  'strategy',
  'baseDelay',
  'maxDelay',
  'jitter',
  'exceptions',
  'retryIf',
  'onRetry',
  'retryOnResult',
  'delay',
  'budget',
] as const;

/**
 * Validates and resolves retry options. Problems are recorded on `checker`; the caller throws.
 * Defaults: maxAttempts 3, exponential, baseDelay 1s, maxDelay 60s, no jitter.
 */
export function resolveRetryOptions(checker: OptionsChecker): ResolvedRetryOptions {
  checker.onlyKnown(RETRY_OPTION_KEYS);
  const baseDelay = checker.duration('baseDelay', 1_000);
  const maxDelay = checker.duration('maxDelay', Math.max(60_000, baseDelay));
  if (maxDelay < baseDelay) checker.fail('maxDelay', `at least baseDelay (${baseDelay} ms)`);
  const jitter = checker.oneOf<Jitter>('jitter', [true, false, 'full', 'equal'], false);
  return {
    maxAttempts: checker.integer('maxAttempts', 3, 1),
    strategy: checker.oneOf(
      'strategy',
      Object.values(BackoffStrategy),
      BackoffStrategy.EXPONENTIAL,
    ),
    baseDelay,
    maxDelay,
    jitter: jitter === true ? 'full' : jitter,
    exceptions: checker.errorClasses('exceptions'),
    retryIf: checker.fn('retryIf'),
    onRetry: checker.fn('onRetry'),
    retryOnResult: checker.fn('retryOnResult'),
    delay: checker.fn('delay'),
    budget: budgetOption(checker),
  };
}

function budgetOption(checker: OptionsChecker): RetryBudget | undefined {
  const budget = checker.raw('budget');
  if (budget === undefined || budget instanceof RetryBudget) return budget;
  checker.fail(
    'budget',
    typeof budget === 'string'
      ? 'a RetryBudget (a budget name resolves only through a registry: name it in @Retry or in a ' +
          "registry's retry entry, and configure it under retryBudget)"
      : "a RetryBudget or the name of a registry's retryBudget entry",
  );
  return undefined;
}
