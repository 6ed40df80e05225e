import { ConfigError } from './errors.js';

/** A time value: a number of milliseconds, or a string such as `'250ms'`, `'1s'`, `'1.5s'`, `'2m'`, `'1h'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}`;

/** The largest delay `setTimeout` honours; anything above is silently turned into 1 ms by Node. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
// Anchored, no nested quantifiers: linear time whatever the input length.
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const parsedStrings = new Map<string, number>();

/**
 * Converts a {@link Duration} to milliseconds, or throws a `ConfigError` naming `option`.
 *
 * @param value - the duration as given by the user
 * @param option - the option name used in the error message (`'timeout'`, `'retry.baseDelay'`, …)
 */
export function toMs(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (value >= 0 && value <= MAX_DURATION_MS) return value; // also rejects NaN
    throw ConfigError.invalid(option, `a duration between 0 and ${MAX_DURATION_MS} ms`, value);
  }
  if (typeof value === 'string') {
    const cached = parsedStrings.get(value);
    if (cached !== undefined) return cached;
    const match = value.length <= 32 ? DURATION_PATTERN.exec(value) : null;
    const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : NaN;
    if (ms >= 0 && ms <= MAX_DURATION_MS) {
      if (parsedStrings.size < 1024) parsedStrings.set(value, ms);
      return ms;
    }
    if (match)
      throw ConfigError.invalid(option, `a duration of at most ${MAX_DURATION_MS} ms`, value);
  }
  throw ConfigError.invalid(
    option,
    `a duration (milliseconds, or a string like '250ms', '1s', '2m', '1h')`,
    value,
  );
}
