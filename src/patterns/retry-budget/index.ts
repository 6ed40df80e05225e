export { RetryBudget } from './retry-budget.js';
export {
  type RetryBudgetOptions,
  type ResolvedRetryBudgetOptions,
} from './retry-budget.options.js';
export {
  MemoryRetryBudgetStore,
  budgetAvailable,
  type RetryBudgetStore,
  type RetryBudgetSpec,
  type RetryBudgetMetrics,
} from './retry-budget-store.js';
