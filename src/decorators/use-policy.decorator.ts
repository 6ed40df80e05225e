import { ConfigError, describeValue } from '../core/errors.js';
import { isPolicy, type Policy } from '../core/policy.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';

/**
 * Applies a policy of your own — any object that implements {@link Policy} — to the decorated method (or every
 * async method of the decorated class), through the same pipeline as the built-in decorators. Policies of your
 * own compose just inside `@Fallback` (outside `@Retry`), the decorator written first outermost.
 *
 * @param policy - the policy instance (shared by everything using it), or the name of one configured under
 *   `policies` in the registry
 * @example
 * ```ts
 * class Reports {
 *   @UsePolicy(new AuditPolicy())
 *   @Retry({ maxAttempts: 3 })
 *   async build(id: string) {}
 *
 *   @UsePolicy('audit') // registry.configure({ policies: { audit: new AuditPolicy() } })
 *   async list() {}
 * }
 * ```
 */
export function UsePolicy(policy: Policy | string): ResilienceDecorator {
  if (typeof policy === 'string') {
    if (policy.length === 0)
      throw new ConfigError('policy name: expected a non-empty string, got ""');
    return policyDecorator({ kind: 'custom', source: { type: 'name', value: policy } });
  }
  if (!isPolicy(policy))
    throw new ConfigError(
      `policy: expected a Policy (an object with kind, events and executeWith) or a registry name, got ${describeValue(policy)}`,
    );
  return policyDecorator({ kind: 'custom', source: { type: 'instance', value: policy } });
}
