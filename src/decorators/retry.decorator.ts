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
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function Retry<R = any>(
  policy: RetryOptions<R> | PolicyName<'retry'> | RetryPolicy = {},
): ResilienceDecorator<R> {
  return policyDecorator({
    kind: 'retry',
    source: sourceOf(policy, RetryPolicy, (options) => new RetryPolicy(options as RetryOptions<R>)),
  });
}
