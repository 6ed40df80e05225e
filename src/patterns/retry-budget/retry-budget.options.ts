import type { Duration } from '../../core/duration.js';
import type { OptionsChecker } from '../../core/validate.js';
import type { RetryBudgetStore } from './retry-budget-store.js';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per first try over the window: 0.2 lets retries add at most 20 % load. Default 0.2. */
  ratio?: number;
  /**
   * Retries allowed per second whatever the traffic, so a quiet service may still retry: the window holds
   * `minPerSecond × window seconds` of them on top of the ratio. Default 10.
   */
  minPerSecond?: number;
  /** How far back first tries and retries are counted. Default `'10s'`. */
  window?: Duration;
  /** Where the counts live. Default: this process's own counters (`dspu/redis` shares them across a fleet). */
  store?: RetryBudgetStore;
}

/** Budget options with defaults applied and the window in ms. */
export interface ResolvedRetryBudgetOptions {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
}

/** The option names `RetryBudgetOptions` accepts. */
export const RETRY_BUDGET_OPTION_KEYS = ['ratio', 'minPerSecond', 'window', 'store'] as const;

/**
 * Validates and resolves budget options. Problems are recorded on `checker`; the caller throws.
 * Defaults: ratio 0.2, minPerSecond 10, window 10s.
 */
export function resolveRetryBudgetOptions(checker: OptionsChecker): ResolvedRetryBudgetOptions {
  checker.onlyKnown(RETRY_BUDGET_OPTION_KEYS);
  checker.store(
    'store',
    ['deposit', 'withdraw', 'metrics'],
    'a RetryBudgetStore (an object with deposit(), withdraw() and metrics())',
  );
  const windowMs = checker.duration('window', 10_000);
  if (checker.raw('window') !== undefined && windowMs === 0)
    checker.fail('window', 'a duration greater than 0');
  return {
    ratio: checker.nonNegativeNumber('ratio', 0.2),
    minPerSecond: checker.nonNegativeNumber('minPerSecond', 10),
    windowMs: windowMs > 0 ? windowMs : 10_000,
  };
}
