export { Retry } from './retry.decorator.js';
export { Timeout } from './timeout.decorator.js';
export { Resilient, type ResilientOptions } from './resilient.decorator.js';
export type { ResilienceDecorator } from './decorator-factory.js';
export { getResiliencePolicies, type PolicyInfo } from './introspection.js';
export { prepareInstance } from './weaver.js';
