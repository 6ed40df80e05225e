import { OptionsChecker } from '../../core/validate.js';
import {
  resolveRetryBudgetOptions,
  type ResolvedRetryBudgetOptions,
  type RetryBudgetOptions,
} from './retry-budget.options.js';
import {
  MemoryRetryBudgetStore,
  type RetryBudgetMetrics,
  type RetryBudgetSpec,
  type RetryBudgetStore,
} from './retry-budget-store.js';

/** Buckets a budget's window is kept in: the window slides in steps of a tenth. */
const BUCKETS = 10;

/**
 * Bounds retries to a share of first tries, so retries cannot turn a struggling dependency's trouble into a storm
 * (three layers of three tries send it 27× the traffic). Over any `window`, retries stay within
 * `ratio × first tries + minPerSecond × window seconds`: every first try deposits, every retry withdraws one, and
 * a retry that finds the budget empty is not made. Share one budget between every retry policy that calls the
 * same dependency (`budget` option of `retry()`, `@Retry` and registry entries).
 *
 * The happy path costs one counter increment: no clock read, no timer, no allocation.
 *
 * @example
 * ```ts
 * const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, window: '10s' });
 * const getUser = retry(fetchUser, { maxAttempts: 3, budget });
 * const getOrder = retry(fetchOrder, { maxAttempts: 5, budget }); // the same dependency, the same budget
 * budget.metrics(); // { requests, retries, available }
 * ```
 */
export class RetryBudget {
  /** `'retryBudget'`: a budget is a resource that retry policies share, not a policy of its own. */
  readonly kind = 'retryBudget';
  /** The resolved options (the window in ms, defaults applied). */
  readonly options: ResolvedRetryBudgetOptions;
  /** Where the counts live. */
  readonly store: RetryBudgetStore;
  /** The budget's shape, as its store is given it. */
  readonly spec: RetryBudgetSpec;

  /** @throws ConfigError naming each invalid option */
  constructor(options: RetryBudgetOptions = {}) {
    const checker = new OptionsChecker(options);
    this.options = resolveRetryBudgetOptions(checker);
    checker.throwIfInvalid();
    this.spec = Object.freeze({ ...this.options, buckets: BUCKETS });
    const store = checker.raw('store') as RetryBudgetStore | undefined;
    store?.attach?.(this.spec);
    this.store = store ?? new MemoryRetryBudgetStore(this.spec);
  }

  /** Records a first try: what the budget's allowance grows with. Retry policies call it; so may you. */
  deposit(): void {
    try {
      this.store.deposit();
    } catch {
      // A store that cannot count a first try loses it (the budget grants a little less); the call goes on.
    }
  }

  /**
   * Takes one retry from the budget: true when it may be made, false when the budget is empty. A store shared by
   * a fleet answers with a promise.
   */
  withdraw(): boolean | PromiseLike<boolean> {
    return this.store.withdraw(this.spec);
  }

  /** Forgets every first try and retry counted (when its store can): the budget starts again as if new. */
  reset(): void {
    this.store.clear?.();
  }

  /** First tries, retries and retries still available over the window, as this process knows them now. */
  metrics(): RetryBudgetMetrics {
    return this.store.metrics(this.spec);
  }
}
