import type { OptionsChecker } from '../../core/validate.js';
import type { ErrorClass } from '../retry/retry.options.js';

/** Options of {@link fallback}, {@link FallbackPolicy} and `@Fallback`. */
export interface FallbackOptions {
  /** Fall back only on errors that are `instanceof` one of these; others are rethrown. Default: every error. */
  exceptions?: readonly ErrorClass[];
}

/** Fallback options with defaults applied. */
export interface ResolvedFallbackOptions {
  readonly exceptions: readonly ErrorClass[] | undefined;
}

/** The option names `FallbackOptions` accepts. */
export const FALLBACK_OPTION_KEYS = ['exceptions'] as const;

/** Validates and resolves fallback options. Problems are recorded on `checker`; the caller throws. */
export function resolveFallbackOptions(checker: OptionsChecker): ResolvedFallbackOptions {
  checker.onlyKnown(FALLBACK_OPTION_KEYS);
  return { exceptions: checker.errorClasses('exceptions') };
}
