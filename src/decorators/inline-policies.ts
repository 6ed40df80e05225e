import { ConfigError, describeValue } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import type { PolicyResolver } from '../registry/binding.js';
import { DEFAULT_ORDER } from '../registry/policy-kind.js';

/**
 * What woven methods build their pipelines with in a program that uses no registry: a bundle that never imports
 * dspu's `registry`, `ResilienceRegistry` or `dspu/nestjs` has no named policies to resolve and no defaults to
 * merge, so it need not carry the registry and every engine its table knows. Inline options make their engine
 * with their decorator's own constructor, once per decorated method; an instance is itself; a name is an error
 * that says where names come from.
 */
export const inlinePolicies: PolicyResolver = {
  version: 0,
  order: DEFAULT_ORDER,
  resolvePolicy(kind, source, label) {
    if (source.type === 'options') return source.make(source.value);
    if (source.type === 'instance') return source.value as Policy; // its class was checked at decoration
    throw new ConfigError(
      `${label} ${kind}: ${describeValue(source.value)} names a registry policy, and this program uses no ` +
        "registry: configure dspu's (import { registry } from 'dspu')",
    );
  },
};
