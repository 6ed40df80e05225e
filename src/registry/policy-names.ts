import type { PolicyKind } from './policy-kind.js';

/**
 * The names your registry configures, declared once so decorators and accessors autocomplete them and reject
 * unknown names at compile time. Empty by default: every name is a `string`. Declare the kinds you want checked:
 *
 * @example
 * ```ts
 * declare module 'dspu' {
 *   interface ResiliencePolicyNames {
 *     retry: 'payments' | 'github';
 *     circuitBreaker: 'payments';
 *   }
 * }
 * @Retry('paymnts') // compile-time error: not a declared retry name
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ResiliencePolicyNames {}

/** The names allowed for `kind`: the declared ones, or any string when none are declared for it. */
export type PolicyName<K extends PolicyKind> = ResiliencePolicyNames extends {
  readonly [P in K]: infer N;
}
  ? N & string
  : string;
