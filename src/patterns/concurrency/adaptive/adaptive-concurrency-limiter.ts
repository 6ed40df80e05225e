import type { Duration } from '../../../core/duration.js';
import { ConfigError } from '../../../core/errors.js';
import { OptionsChecker, isPlainObject } from '../../../core/validate.js';
import { ConcurrencyLimiter, type ConcurrencyLimiterEvents } from '../concurrency-limiter.js';
import type { ConcurrencyLimiterOptions } from '../concurrency.options.js';
import {
  resolveAdaptiveOptions,
  type AdaptiveAlgorithm,
  type AdaptiveConcurrencyOptions,
  type ResolvedAdaptiveConcurrencyOptions,
} from './adaptive.options.js';
import { AdaptivePermitStore, type DropFilter } from './adaptive-permit-store.js';
import { aimd } from './aimd.js';
import { gradient } from './gradient.js';
import type { LimitAlgorithm, LimitState } from './limit-algorithm.js';
import { vegas } from './vegas.js';

/** Events of an {@link AdaptiveConcurrencyLimiter}: those of a `ConcurrencyLimiter`, `limitChange` included. */
export type AdaptiveConcurrencyLimiterEvents = ConcurrencyLimiterEvents;

const ALGORITHMS: Record<AdaptiveAlgorithm, LimitAlgorithm<LimitState, never>> = {
  gradient: gradient,
  aimd: aimd,
  vegas: vegas,
};

/**
 * A {@link ConcurrencyLimiter} that finds its limit instead of being told it: it measures how long each call
 * takes and how it ends, where the limiter runs it, and moves the limit so the dependency is kept busy without a
 * queue growing in front of it. When the dependency gets slower or loses capacity, the limit falls and the excess
 * calls wait in this limiter's queue (bounded by `maxQueue` and `maxWait`) or are refused, instead of piling up
 * in the dependency. Same surface as `ConcurrencyLimiter` (`run`, `acquire`, `active`, `pending`, the `queued` and
 * `rejected` events), plus the current `limit` and a `limitChange` event.
 *
 * Only calls run through `run()` (or a decorated method) are measured: a permit taken with `acquire()` says
 * nothing about the work done under it.
 *
 * @example
 * ```ts
 * const db = new AdaptiveConcurrencyLimiter({
 *   algorithm: 'gradient',
 *   initialLimit: 20, minLimit: 1, maxLimit: 200,
 *   maxQueue: 100, maxWait: '1s',
 * });
 * db.events.on('limitChange', ({ from, to }) => log.info(`db limit ${from} → ${to}`));
 * const rows = await db.run(() => pool.query(sql));
 * db.limit; // the limit now
 * ```
 */
export class AdaptiveConcurrencyLimiter extends ConcurrencyLimiter {
  /** The resolved adaptive options (durations in ms, defaults applied). `options.limit` is the initial limit. */
  readonly adaptiveOptions: ResolvedAdaptiveConcurrencyOptions;
  private readonly permits: AdaptivePermitStore<LimitState, never>;

  /** @throws ConfigError naming each invalid option */
  constructor(options: AdaptiveConcurrencyOptions = {}) {
    const checker = new OptionsChecker(options);
    const resolved = resolveAdaptiveOptions(checker);
    checker.throwIfInvalid();
    // The store is made before the limiter exists; it reports changes once the limiter does.
    const relay = { changed: (_from: number, _to: number): void => {} };
    const permits = new AdaptivePermitStore(
      ALGORITHMS[resolved.algorithm],
      resolved as never,
      resolved.initialLimit,
      dropFilter(resolved),
      (from, to) => relay.changed(from, to),
    );
    super({
      limit: resolved.initialLimit,
      maxQueue: resolved.maxQueue,
      ...(resolved.maxWait === Infinity ? {} : { maxWait: resolved.maxWait }),
      store: permits,
    });
    this.adaptiveOptions = resolved;
    this.permits = permits;
    relay.changed = (from, to) => {
      if (this.events.has('limitChange')) this.events.emit('limitChange', { from, to });
    };
  }

  /** How many calls may run at once now. */
  override get limit(): number {
    return this.permits.limit;
  }
}

function dropFilter({ exceptions }: ResolvedAdaptiveConcurrencyOptions): DropFilter {
  if (exceptions === undefined) return () => true;
  return (error) => exceptions.some((type) => error instanceof type);
}

/**
 * The options of a concurrency limiter whose limit adapts, where a `ConcurrencyLimiterOptions` would go
 * (`@Concurrency({ adaptive: { … } })`, a registry's `concurrency` entry). `maxQueue` and `maxWait` may sit
 * beside `adaptive` (a registry's defaults put them there); inside it they win.
 */
export interface AdaptiveConcurrencyEntry {
  /** The adaptive limiter's options. */
  adaptive: AdaptiveConcurrencyOptions;
  /** See {@link AdaptiveConcurrencyOptions.maxQueue}. */
  maxQueue?: number;
  /** See {@link AdaptiveConcurrencyOptions.maxWait}. */
  maxWait?: Duration;
}

/**
 * Makes the limiter that `options` describe: adaptive when they hold `adaptive`, else a fixed limit.
 * @throws ConfigError naming each invalid option
 * @internal
 */
export function limiterFromOptions(
  options: ConcurrencyLimiterOptions | AdaptiveConcurrencyEntry | number,
): ConcurrencyLimiter {
  const adaptive = adaptivePart(options);
  if (adaptive === undefined) return new ConcurrencyLimiter(options as ConcurrencyLimiterOptions);
  const checker = new OptionsChecker(adaptive.rest).onlyKnown(['maxQueue', 'maxWait']);
  checker.throwIfInvalid();
  return new AdaptiveConcurrencyLimiter(withQueueOptions(adaptive.options, adaptive.rest));
}

// The queue options beside `adaptive` under those inside it; options that cannot be read go on as they are, for
// the limiter's checks to report.
function withQueueOptions(
  options: unknown,
  rest: Record<string, unknown>,
): AdaptiveConcurrencyOptions {
  try {
    if (!isPlainObject(options))
      throw ConfigError.invalid('adaptive', 'adaptive limiter options', options);
    return Object.keys(rest).length === 0 ? options : { ...rest, ...options };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return options as AdaptiveConcurrencyOptions;
  }
}

function adaptivePart(
  options: unknown,
): { options: unknown; rest: Record<string, unknown> } | undefined {
  try {
    if (!isPlainObject(options) || !Object.hasOwn(options, 'adaptive')) return undefined;
    const { adaptive, ...rest } = options;
    return { options: adaptive, rest };
  } catch {
    return undefined; // unreadable options: the fixed limiter's checks report them
  }
}
