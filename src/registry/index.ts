export { ResilienceRegistry } from './registry.js';
export type { RegistryEvents, EventSource } from './registry-events.js';
export { registry, bindRegistry } from './default-registry.js';
export type { ResilienceConfig, NamedEntries } from './registry.config.js';
export { DEFAULT_ORDER } from './policy-kind.js';
export type {
  PolicyKind,
  EngineOf,
  OptionsOf,
  ResourceKind,
  ResourceOf,
  ResourceOptionsOf,
} from './policy-kinds.js';
export type { ResiliencePolicyNames, PolicyName } from './policy-names.js';
