import { type Duration, toMs } from '../../core/duration.js';
import type { CallOptions } from '../../core/policy.js';
import { OptionsChecker } from '../../core/validate.js';

/** Options of {@link Timeout}: the budget, as an object (a registry entry may also be a bare duration). */
export interface TimeoutOptions {
  /** The time budget. */
  timeout: Duration;
}

/** Per-call options of {@link runWithTimeout} and `Timeout.run`. */
export type TimeoutCallOptions = CallOptions;

/** The option names `TimeoutOptions` accepts. */
export const TIMEOUT_OPTION_KEYS = ['timeout'] as const;

/** A timeout's budget in ms, from a duration or `{ timeout }`. @throws ConfigError naming the problem */
export function resolveTimeout(value: unknown): number {
  if (typeof value !== 'object' || value === null) return toMs(value, 'timeout');
  const checker = new OptionsChecker(value).onlyKnown(TIMEOUT_OPTION_KEYS);
  checker.required('timeout', 'a duration');
  const ms = checker.duration('timeout', 0);
  checker.throwIfInvalid();
  return ms;
}
