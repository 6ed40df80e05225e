/** How many recent latencies a hedge remembers. */
const SAMPLES = 128;
/** New samples after which the quantile is computed again (a sort of `SAMPLES` numbers). */
const REFRESH = 16;

/**
 * A quantile of recent successful latencies, in fixed memory: a ring of the last 128 samples, sorted again every
 * 16 new ones, so a call pays a few comparisons on average and the estimate follows a dependency that slows down
 * or recovers within a hundred calls.
 */
export class LatencyQuantile {
  private readonly ring = new Float64Array(SAMPLES);
  private readonly sorted = new Float64Array(SAMPLES);
  private count = 0;
  private sortedCount = 0;
  private next = 0;
  private sinceSort = REFRESH;

  /** @param quantile - in (0, 1): 0.95 for the 95th percentile */
  constructor(readonly quantile: number) {}

  /** Samples recorded, up to the ring's size. */
  get size(): number {
    return this.count;
  }

  /** Forgets every sample. */
  clear(): void {
    this.count = this.sortedCount = this.next = 0;
    this.sinceSort = REFRESH;
  }

  /** Records one successful call's latency in ms. */
  record(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    if (this.count < SAMPLES) this.count++;
    this.sinceSort++;
  }

  /** The quantile of the samples recorded (NaN with none). */
  value(): number {
    if (this.count === 0) return NaN;
    if (this.sinceSort >= REFRESH || this.sortedCount === 0) {
      this.sorted.set(this.ring.subarray(0, this.count));
      this.sorted.subarray(0, this.count).sort();
      this.sortedCount = this.count;
      this.sinceSort = 0;
    }
    // Nearest rank: the smallest sample with at least `quantile` of the samples at or below it.
    const rank = Math.ceil(this.quantile * this.sortedCount) - 1;
    return this.sorted[Math.min(this.sortedCount - 1, Math.max(0, rank))];
  }
}
