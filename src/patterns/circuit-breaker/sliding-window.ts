/** What a rate-mode breaker judges: the calls of its window, how many failed, how many were slow. */
export interface WindowMetrics {
  /** Calls recorded in the window (an ignored error is not a call). */
  readonly calls: number;
  /** Of those, counted failures. */
  readonly failedCalls: number;
  /** Of those, calls slower than `slowCallDuration`, whatever their outcome. */
  readonly slowCalls: number;
  /** `failedCalls` as a percent of `calls` (0 when the window is empty). */
  readonly failureRate: number;
  /** `slowCalls` as a percent of `calls` (0 when the window is empty). */
  readonly slowCallRate: number;
}

/** A window's contents as plain data, for `toJSON()` and `initialState`. */
export type WindowSnapshot =
  | { readonly type: 'calls'; readonly outcomes: readonly number[] }
  | { readonly type: 'time'; readonly buckets: readonly (readonly number[])[] };

// One call's outcome in one small number: bit 0 failed, bit 1 slow.
const FAILED = 1;
const SLOW = 2;

/** Where a rate-mode breaker keeps the outcomes it judges. O(1) per record, no allocation, no timer. */
export interface SlidingWindow {
  /** True when records and reads need the time (a time window): a count window never reads the clock. */
  readonly timed: boolean;
  /** The window's totals as of the last record or {@link SlidingWindow.rotate}. */
  readonly calls: number;
  readonly failed: number;
  readonly slow: number;
  /** Records one call at `nowMs`. */
  record(failed: boolean, slow: boolean, nowMs: number): void;
  /** Drops what has aged out by `nowMs` (nothing, for a count window). */
  rotate(nowMs: number): void;
  /** Forgets everything (the circuit opened). */
  clear(): void;
  /** The contents as plain data. */
  snapshot(nowMs: number): WindowSnapshot;
  /** Loads contents saved by {@link SlidingWindow.snapshot} (already checked). */
  restore(saved: WindowSnapshot): void;
}

/** The last `size` calls, as a ring of outcome codes with running sums. */
export class CountWindow implements SlidingWindow {
  readonly timed = false;
  private readonly ring: Uint8Array;
  private next = 0;
  calls = 0;
  failed = 0;
  slow = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  record(failed: boolean, slow: boolean): void {
    const code = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (this.calls === this.size) {
      const old = this.ring[this.next];
      this.failed -= old & FAILED;
      this.slow -= (old & SLOW) >> 1;
    } else this.calls++;
    this.ring[this.next] = code;
    this.failed += code & FAILED;
    this.slow += (code & SLOW) >> 1;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
  }

  rotate(): void {}

  clear(): void {
    this.next = this.calls = this.failed = this.slow = 0;
  }

  snapshot(): WindowSnapshot {
    const outcomes: number[] = [];
    const first = this.calls === this.size ? this.next : 0;
    for (let i = 0; i < this.calls; i++) outcomes.push(this.ring[(first + i) % this.size]);
    return { type: 'calls', outcomes };
  }

  restore(saved: WindowSnapshot): void {
    this.clear();
    if (saved.type !== 'calls') return;
    for (const code of saved.outcomes.slice(-this.size))
      this.record((code & FAILED) !== 0, (code & SLOW) !== 0);
  }
}

/**
 * The calls of the last `durationMs`, in `buckets` buckets of equal span. A bucket is reused once its span has
 * passed out of the window; rotation happens on the next record or read, so an idle breaker holds no timer.
 */
export class TimeWindow implements SlidingWindow {
  readonly timed = true;
  private readonly spanMs: number;
  // Per bucket: the index of the span it holds (time / spanMs, rounded down), and its counts.
  private readonly spans: Float64Array;
  private readonly bucketCalls: Uint32Array;
  private readonly failedCalls: Uint32Array;
  private readonly slowCalls: Uint32Array;
  calls = 0;
  failed = 0;
  slow = 0;
  // The newest span recorded or read: buckets of older spans than this minus `buckets` are stale.
  private newest = -Infinity;
  // Spans added to every time read, the sum of the clock's steps back: the window goes on from where it was.
  private shift = 0;
  // The last time asked for and its bucket: a busy breaker records many calls within one millisecond, and those
  // then cost one comparison instead of a division and a remainder.
  private lastNow = NaN;
  private lastBucket = 0;

  constructor(
    readonly durationMs: number,
    readonly buckets: number,
  ) {
    this.spanMs = durationMs / buckets;
    this.spans = new Float64Array(buckets).fill(-Infinity);
    this.bucketCalls = new Uint32Array(buckets);
    this.failedCalls = new Uint32Array(buckets);
    this.slowCalls = new Uint32Array(buckets);
  }

  record(failed: boolean, slow: boolean, nowMs: number): void {
    const bucket = this.bucketOf(nowMs);
    this.bucketCalls[bucket]++;
    this.calls++;
    if (failed) {
      this.failedCalls[bucket]++;
      this.failed++;
    }
    if (slow) {
      this.slowCalls[bucket]++;
      this.slow++;
    }
  }

  rotate(nowMs: number): void {
    this.bucketOf(nowMs);
  }

  clear(): void {
    this.spans.fill(-Infinity);
    this.bucketCalls.fill(0);
    this.failedCalls.fill(0);
    this.slowCalls.fill(0);
    this.calls = this.failed = this.slow = 0;
    this.newest = -Infinity;
    this.shift = 0;
    this.lastNow = NaN;
  }

  snapshot(nowMs: number): WindowSnapshot {
    this.bucketOf(nowMs);
    const buckets: number[][] = [];
    for (let i = 0; i < this.buckets; i++)
      if (this.bucketCalls[i] > 0)
        buckets.push([
          (this.spans[i] - this.shift) * this.spanMs,
          this.bucketCalls[i],
          this.failedCalls[i],
          this.slowCalls[i],
        ]);
    return { type: 'time', buckets: buckets.sort((a, b) => a[0] - b[0]) };
  }

  restore(saved: WindowSnapshot): void {
    this.clear();
    if (saved.type !== 'time') return;
    for (const [startMs, calls, failed, slow] of saved.buckets) {
      const span = Math.round(startMs / this.spanMs);
      // Saved buckets come in any order: an older one is no clock step back, and lands in its own bucket.
      const bucket = span < this.newest ? this.bucketOfSpan(span) : this.bucketAt(span);
      if (this.spans[bucket] !== span) continue; // older than the window already restored
      this.bucketCalls[bucket] += calls;
      this.failedCalls[bucket] += failed;
      this.slowCalls[bucket] += slow;
      this.calls += calls;
      this.failed += failed;
      this.slow += slow;
    }
  }

  /** Drops the buckets that aged out by `nowMs` and returns the bucket of `nowMs`. */
  private bucketOf(nowMs: number): number {
    if (nowMs === this.lastNow) return this.lastBucket;
    this.lastBucket = this.findBucket(nowMs);
    this.lastNow = nowMs;
    return this.lastBucket;
  }

  // bucketOf without the cache.
  private findBucket(nowMs: number): number {
    return this.bucketAt(Math.floor(nowMs / this.spanMs) + this.shift);
  }

  /** Drops the buckets that aged out by `span` and returns its bucket. */
  private bucketAt(span: number): number {
    if (span < this.newest) {
      // The clock stepped back (NTP, a test's setSystemTime): every later read is shifted by the step, so the
      // window goes on aging from the time it reads, instead of holding its calls until the clock catches up.
      this.shift += this.newest - span;
      return this.bucketOfSpan(this.newest);
    }
    const bucket = this.bucketOfSpan(span);
    if (span === this.newest) return bucket;
    // Every span from newest + 1 to `span` starts afresh; past a whole window, every bucket does.
    const first = Math.max(this.newest + 1, span - this.buckets + 1);
    for (let s = first; s <= span; s++) this.empty(this.bucketOfSpan(s), s);
    this.newest = span;
    return bucket;
  }

  // Spans before the epoch are negative (a fake clock starts at 0, so the first window reaches back past it),
  // and `%` keeps the sign.
  private bucketOfSpan(span: number): number {
    const bucket = span % this.buckets;
    return bucket < 0 ? bucket + this.buckets : bucket;
  }

  private empty(bucket: number, span: number): void {
    this.calls -= this.bucketCalls[bucket];
    this.failed -= this.failedCalls[bucket];
    this.slow -= this.slowCalls[bucket];
    this.bucketCalls[bucket] = this.failedCalls[bucket] = this.slowCalls[bucket] = 0;
    this.spans[bucket] = span;
  }
}

/** Totals as the percents a breaker compares with its thresholds. */
export function windowMetrics(totals: {
  readonly calls: number;
  readonly failed: number;
  readonly slow: number;
}): WindowMetrics {
  const { calls, failed, slow } = totals;
  return {
    calls,
    failedCalls: failed,
    slowCalls: slow,
    failureRate: calls === 0 ? 0 : (failed / calls) * 100,
    slowCallRate: calls === 0 ? 0 : (slow / calls) * 100,
  };
}
