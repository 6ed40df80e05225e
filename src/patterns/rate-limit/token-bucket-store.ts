/** The shape of a token bucket, handed to the store with every call so a store keeps only state. */
export interface TokenBucketSpec {
  /** Most tokens the bucket holds (the burst). */
  readonly capacity: number;
  /** Milliseconds it takes to refill one token (`per / rate`). */
  readonly msPerToken: number;
}

/** What {@link TokenBucketStore.take} answers. */
export interface TakeResult {
  /** True when the tokens were taken. */
  readonly granted: boolean;
  /** When refused: milliseconds until the bucket would hold the tokens asked for (0 when granted). */
  readonly waitMs: number;
}

/**
 * Where a {@link RateLimiter} keeps its bucket. The in-memory store answers synchronously; a store shared by
 * several processes (Redis) answers with promises, and the limiter accepts both without any change.
 */
export interface TokenBucketStore {
  /**
   * Takes `tokens` if the bucket holds them at `nowMs`, else takes nothing and says how long until it would.
   * Must be atomic: two concurrent takes never both spend the same tokens.
   */
  take(
    tokens: number,
    nowMs: number,
    bucket: TokenBucketSpec,
  ): TakeResult | PromiseLike<TakeResult>;
  /** Tokens in the bucket at `nowMs`, when the store can tell without waiting (what `limiter.available` reads). */
  peek?(nowMs: number, bucket: TokenBucketSpec): number;
}

/** The answer to every successful take: shared, so the happy path allocates nothing. */
export const GRANTED: TakeResult = Object.freeze({ granted: true, waitMs: 0 });

// Float sums of msPerToken (e.g. 1000/3) drift by far less than this; without it a wait of 100 ms could
// compute as 100.00000001 and round up to 101.
const EPSILON_MS = 1e-6;

/**
 * The default store: one bucket in this process. It keeps a single number, the time at which the bucket is (or
 * was) empty, and refills continuously: at time `t` it holds `min(capacity, (t - emptyAt) / msPerToken)`
 * tokens. Taking `n` tokens moves `emptyAt` forward by `n × msPerToken`. It starts full.
 */
export class MemoryTokenBucketStore implements TokenBucketStore {
  private emptyAt = -Infinity;

  /** @inheritDoc */
  take(tokens: number, nowMs: number, bucket: TokenBucketSpec): TakeResult {
    // A full bucket stops filling: tokens beyond capacity are not banked.
    const start = Math.max(this.emptyAt, nowMs - bucket.capacity * bucket.msPerToken);
    const next = start + tokens * bucket.msPerToken;
    if (next <= nowMs + EPSILON_MS) {
      this.emptyAt = next;
      return GRANTED;
    }
    return { granted: false, waitMs: Math.max(1, Math.ceil(next - nowMs - EPSILON_MS)) };
  }

  /** @inheritDoc */
  peek(nowMs: number, bucket: TokenBucketSpec): number {
    const held = (nowMs - this.emptyAt) / bucket.msPerToken;
    if (held >= bucket.capacity) return bucket.capacity;
    // Rounded so 1000/3-ms refills read as whole tokens, not 0.9999999.
    return held > 0 ? Math.round(held * 1e9) / 1e9 : 0;
  }
}
