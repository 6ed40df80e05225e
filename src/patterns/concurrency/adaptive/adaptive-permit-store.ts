import { preciseNow } from '../../../core/clock.js';
import { ConcurrencyLimitError, TimeoutError } from '../../../core/errors.js';
import type { PermitOutcome, PermitStore } from '../permit-store.js';
import type { LimitAlgorithm, LimitState, LimitWindow } from './limit-algorithm.js';

/** Calls a window must measure before the algorithm sees it. */
const WINDOW_SAMPLES = 10;

/** Says whether an error that ended a call is a drop (timeouts and downstream limits always are). */
export type DropFilter = (error: unknown) => boolean;

/**
 * Permits of an adaptive limiter: a counter whose limit an algorithm moves. Its tickets are the start times of
 * the calls, so a give says how long the call took; each call that started after the last change of the limit is
 * a sample, and every `WINDOW_SAMPLES` of them the algorithm sees their summary and sets the limit.
 * @internal
 */
export class AdaptivePermitStore<S extends LimitState, O> implements PermitStore<number> {
  readonly measures = true;
  active = 0;
  /** The limit applied now: the algorithm's, floored, at least 1. */
  limit: number;
  private state: S;
  // The open window: samples of calls that started at or after `windowStart`.
  private windowStart: number;
  private samples = 0;
  private drops = 0;
  private rttSum = 0;
  private minRtt = Infinity;
  private maxRtt = 0;
  private maxInflight = 0;

  constructor(
    private readonly algorithm: LimitAlgorithm<S, O>,
    private readonly options: O,
    private readonly initialLimit: number,
    private readonly isDrop: DropFilter,
    /** Told every change of the applied limit. */
    private readonly onChange: (from: number, to: number) => void,
  ) {
    this.state = algorithm.initial(initialLimit, options);
    this.limit = applied(this.state);
    this.windowStart = preciseNow();
  }

  /** @inheritDoc */
  take(): number | undefined {
    if (this.active >= this.limit) return undefined;
    if (++this.active > this.maxInflight) this.maxInflight = this.active;
    const startedAt = preciseNow();
    // A clock that went back (fake timers installed or removed, a polyfill) would leave every later call
    // "before the window" until it caught up: the window starts again at its new reading.
    if (startedAt < this.windowStart) this.windowStart = startedAt;
    return startedAt;
  }

  /** @inheritDoc */
  give(startedAt: number, outcome?: PermitOutcome): void {
    if (this.active > 0) this.active--;
    // A call that started before the limit last changed says nothing about the new limit.
    if (outcome === undefined || startedAt < this.windowStart) return;
    const end = preciseNow();
    const rtt = end - startedAt;
    // A latency below 0 or beyond any number spans a step of the clock: it measures nothing, and one such
    // sample taken as the no-load latency would drive the limit to its floor.
    if (!(rtt >= 0 && rtt < Infinity)) return;
    this.samples++;
    this.rttSum += rtt;
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (rtt > this.maxRtt) this.maxRtt = rtt;
    if (!outcome.ok && this.dropped(outcome.error)) this.drops++;
    if (this.samples >= WINDOW_SAMPLES) this.closeWindow(end);
  }

  /** Forgets every permit, sample and learned limit: the limit is the initial one again (no change reported). */
  reset(): void {
    this.active = 0;
    this.state = this.algorithm.initial(this.initialLimit, this.options);
    this.limit = applied(this.state);
    this.windowStart = preciseNow();
    this.samples = this.drops = this.rttSum = this.maxRtt = this.maxInflight = 0;
    this.minRtt = Infinity;
  }

  /** The algorithm's state now (for tests and metrics). */
  get current(): S {
    return this.state;
  }

  private dropped(error: unknown): boolean {
    // Inside the try: `instanceof` throws on a revoked Proxy, and what the work threw must reach its caller.
    try {
      if (error instanceof TimeoutError || error instanceof ConcurrencyLimitError) return true;
      return this.isDrop(error);
    } catch {
      return true; // a broken filter must not break the limiter: a failure it could not judge counts
    }
  }

  private closeWindow(end: number): void {
    const window: LimitWindow = {
      samples: this.samples,
      drops: this.drops,
      meanRtt: this.rttSum / this.samples,
      minRtt: this.minRtt,
      maxRtt: this.maxRtt,
      maxInflight: this.maxInflight,
      end,
    };
    this.windowStart = end;
    this.samples = this.drops = this.rttSum = this.maxRtt = 0;
    this.minRtt = Infinity;
    this.maxInflight = this.active;
    this.state = this.algorithm.next(this.state, window, this.options);
    const from = this.limit;
    this.limit = applied(this.state);
    if (this.limit !== from) this.onChange(from, this.limit);
  }
}

function applied(state: LimitState): number {
  return Math.max(1, Math.floor(state.limit));
}
