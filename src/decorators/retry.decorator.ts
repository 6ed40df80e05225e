import { RetryPolicy, type RetryOptions } from '../patterns/retry/index.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/**
 * Retries the decorated method (or every async method of the decorated class): see {@link RetryOptions}.
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
 * }
 * ```
 */
export function Retry(
  policy: RetryOptions | PolicyName<'retry'> | RetryPolicy = {},
): ResilienceDecorator {
  return policyDecorator({
    kind: 'retry',
    source: sourceOf(policy, RetryPolicy, (options) => new RetryPolicy(options as RetryOptions)),
  });
}
