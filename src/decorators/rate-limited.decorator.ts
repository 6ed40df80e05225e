import { OptionsChecker } from '../core/validate.js';
import {
  RateLimiter,
  type RateLimitCallOptions,
  type RateLimiterOptions,
} from '../patterns/rate-limit/index.js';
import { checkTokens } from '../patterns/rate-limit/rate-limiter.options.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/** Per-call options of `@RateLimited`: what each call of the method costs and how long it may wait. */
export type RateLimitedCallOptions = Pick<RateLimitCallOptions, 'tokens' | 'maxWait'>;

/**
 * Makes each call of the decorated method wait for tokens from a token bucket. A call that the
 * circuit breaker rejects spends no token (the breaker composes outside).
 *
 * @param policy - inline limiter options, a registry name, or a {@link RateLimiter} instance
 * @param call - `tokens` each call costs (default 1) and `maxWait`
 * @example
 * ```ts
 * class Api {
 *   @RateLimited({ rate: 10, per: '1s' })
 *   async call() {}
 *
 *   @RateLimited('github', { tokens: 5 })
 *   async bulk() {}
 * }
 * ```
 */
export function RateLimited(
  policy: RateLimiterOptions | PolicyName<'rateLimiter'> | RateLimiter,
  call?: RateLimitedCallOptions,
): ResilienceDecorator {
  let inline: RateLimiter | undefined;
  const make = (options: unknown) => new RateLimiter(options as RateLimiterOptions);
  const source = sourceOf(policy, RateLimiter, make, (options) => (inline = make(options)));
  const checked = checkCallOptions(call);
  // A cost above the bucket's capacity could never be paid: say so now when the capacity is known, which it
  // is for an instance and for inline options (their `capacity`, else their `rate`). A name is resolved later.
  const capacity =
    policy instanceof RateLimiter ? policy.options.capacity : inline?.options.capacity;
  if (checked?.tokens !== undefined && capacity !== undefined) {
    const invalid = checkTokens(checked.tokens, capacity);
    if (invalid) throw invalid;
  }
  return policyDecorator({ kind: 'rateLimiter', source, call: checked });
}

function checkCallOptions(call: unknown): RateLimitedCallOptions | undefined {
  if (call === undefined) return undefined;
  const checker = new OptionsChecker(call).onlyKnown(['tokens', 'maxWait']);
  const raw = checker.raw('tokens');
  if (raw !== undefined && !(typeof raw === 'number' && raw > 0 && Number.isFinite(raw))) {
    checker.fail('tokens', 'a number greater than 0');
  }
  const maxWait = checker.raw('maxWait') === undefined ? undefined : checker.duration('maxWait', 0);
  checker.throwIfInvalid();
  return {
    ...(raw === undefined ? {} : { tokens: raw as number }),
    ...(maxWait === undefined ? {} : { maxWait }),
  };
}
