import { RetryBudget } from '../patterns/retry-budget/index.js';
import { RetryPolicy, type RetryOptions } from '../patterns/retry/index.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/**
 * Retries the decorated method (or every async method of the decorated class): up to `maxAttempts` tries with
 * backoff between them. `retryOnResult` sees the method's result; annotate its parameter
 * (`(response: Response) => …`) and the method must resolve to that type.
 *
 * @param policy - inline options (one policy per class and method, shared by all instances), a registry name,
 *   or a {@link RetryPolicy} instance
 * @example
 * ```ts
 * class Client {
 *   @Retry({ maxAttempts: 5, baseDelay: '1s', exceptions: [NetworkError] })
 *   async get(url: string) { return http.get(url); }
 *
 *   @Retry('payments') // from the registry
 *   async charge() {}
 *
 *   @Retry({ maxAttempts: 3, budget: 'upstream' }) // a registry's retryBudget entry, resolved at first call
 *   async list() {}
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function Retry<R = any>(
  policy: RetryOptions<R> | PolicyName<'retry'> | RetryPolicy = {},
): ResilienceDecorator<R> {
  return policyDecorator({
    kind: 'retry',
    source: sourceOf(
      policy,
      RetryPolicy,
      (options) => new RetryPolicy(options as RetryOptions<never>),
      (options) => new RetryPolicy(checkable(options)),
    ),
  });
}

// A budget name is resolved by the registry at first call: the options are checked now with a stand-in for it.
function checkable(options: unknown): RetryOptions<never> {
  try {
    const budget = (options as { budget?: unknown }).budget;
    if (typeof budget === 'string' && budget.length > 0)
      return { ...(options as RetryOptions<never>), budget: standInBudget() };
  } catch {
    // unreadable options: the policy's own checks report them
  }
  return options as RetryOptions<never>;
}

let standIn: RetryBudget | undefined;
function standInBudget(): RetryBudget {
  return (standIn ??= new RetryBudget());
}
