import { toMs, type Duration } from '../../core/duration.js';
import type { OptionsChecker } from '../../core/validate.js';

/** A latency quantile of recent successful calls: `'p50'` to `'p99'` (decimals allowed: `'p99.5'`). */
export type LatencyPercentile = `p${number}`;

/** What a hedge draws its extra attempts from: a `RetryBudget` (or anything with its two methods). */
export interface HedgeBudget {
  /** Records a call (a first attempt). */
  deposit(): void;
  /** Takes one extra attempt: true when it may be sent. */
  withdraw(): boolean | PromiseLike<boolean>;
}

/** Options of {@link hedge}, {@link HedgePolicy} and `@Hedge`. */
export interface HedgeOptions {
  /**
   * How long to wait for the attempts in flight before sending another: a duration, or a quantile of recent
   * successful latencies (`'p95'`). Required.
   */
  delay: Duration | LatencyPercentile;
  /** Extra attempts at most, after the first. Default 1. */
  maxHedges?: number;
  /**
   * With a quantile `delay`, the delay used until `minSamples` calls have succeeded. Default: none, so no hedge is
   * sent before the latency is known.
   */
  fallbackDelay?: Duration;
  /** With a quantile `delay`: successful calls to observe before the quantile is trusted. Default 20. */
  minSamples?: number;
  /** Extra attempts draw on this budget (a `RetryBudget`, or its registry name): an empty budget sends none. */
  budget?: HedgeBudget | string;
}

/** Hedge options with defaults applied and durations in ms. */
export interface ResolvedHedgeOptions {
  /** The fixed delay in ms, or undefined with a quantile delay. */
  readonly delay: number | undefined;
  /** The quantile in (0, 1), or undefined with a fixed delay. */
  readonly quantile: number | undefined;
  readonly maxHedges: number;
  /** `Infinity` when no fallback delay was given. */
  readonly fallbackDelay: number;
  readonly minSamples: number;
  readonly budget: HedgeBudget | string | undefined;
}

/** The option names `HedgeOptions` accepts. */
export const HEDGE_OPTION_KEYS = [
  'delay',
  'maxHedges',
  'fallbackDelay',
  'minSamples',
  'budget',
] as const;

const PERCENTILE = /^p(\d{1,2}(?:\.\d{1,3})?)$/;
const DELAY_RULE = "a duration, or a latency quantile from 'p1' to 'p99' (e.g. 'p95')";

/** Validates and resolves hedge options. Problems are recorded on `checker`; the caller throws. */
export function resolveHedgeOptions(checker: OptionsChecker): ResolvedHedgeOptions {
  checker.onlyKnown(HEDGE_OPTION_KEYS);
  let delay: number | undefined;
  let quantile: number | undefined;
  const raw = checker.raw('delay');
  if (checker.required('delay', DELAY_RULE)) {
    const match = typeof raw === 'string' ? PERCENTILE.exec(raw) : null;
    if (match !== null) {
      const percent = Number(match[1]);
      if (percent > 0 && percent < 100) quantile = percent / 100;
      else checker.fail('delay', DELAY_RULE);
    } else {
      try {
        delay = toMs(raw, 'delay');
      } catch {
        checker.fail('delay', DELAY_RULE);
      }
    }
  }
  const fallbackDelay =
    checker.raw('fallbackDelay') === undefined ? Infinity : checker.duration('fallbackDelay', 0);
  if (quantile === undefined) {
    for (const key of ['fallbackDelay', 'minSamples'])
      if (checker.raw(key) !== undefined)
        checker.fail(key, "only with a quantile delay (such as 'p95')");
  }
  const budget = checker.raw('budget');
  if (budget !== undefined && typeof budget !== 'string' && !isBudget(budget))
    checker.fail('budget', 'a RetryBudget or the name of one in the registry');
  if (typeof budget === 'string' && budget.length === 0)
    checker.fail('budget', 'a non-empty budget name', budget);
  return {
    delay,
    quantile,
    maxHedges: checker.integer('maxHedges', 1, 1, 16),
    fallbackDelay,
    minSamples: checker.integer('minSamples', 20, 1, 128),
    budget: budget as HedgeBudget | string | undefined,
  };
}

function isBudget(value: unknown): value is HedgeBudget {
  try {
    const candidate = value as Partial<HedgeBudget> | null;
    return (
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof candidate.deposit === 'function' &&
      typeof candidate.withdraw === 'function'
    );
  } catch {
    return false;
  }
}
