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
   * @param maxWaitMs - how long the caller will wait if refused (0 or absent: it will not, and its refusal
   *   must leave no trace). A store shared by several processes may keep the caller's place in line for that
   *   long, so a waiting take is not overtaken by smaller takes of other processes.
   */
  take(
    tokens: number,
    nowMs: number,
    bucket: TokenBucketSpec,
    maxWaitMs?: number,
  ): TakeResult | PromiseLike<TakeResult>;
  /** Tokens in the bucket at `nowMs`, when the store can tell without waiting (what `limiter.available` reads). */
  peek?(nowMs: number, bucket: TokenBucketSpec): number;
  /**
   * Fills the bucket, as if new: what the limiter's `reset()` asks of a store that can. A store shared by a
   * fleet leaves this out: its bucket is not this process's.
   */
  reset?(): void;
}

/** The answer to every successful take: shared, so the happy path allocates nothing. */
export const GRANTED: TakeResult = Object.freeze({ granted: true, waitMs: 0 });

// Float sums of msPerToken (e.g. 1000/3) drift by far less than this; without it a wait of 100 ms could
// compute as 100.00000001 and round up to 101.
const EPSILON_MS = 1e-6;

/**
 * The default store: one bucket in this process. It keeps the tokens it held at the time of its last grant and
 * refills continuously: at time `t` it holds `min(capacity, level + (t - at) / msPerToken)` tokens. It starts
 * full.
 *
 * Only time differences are computed, never sums on the epoch clock: near 1.8e12 ms a double's step is 2.4e-4
 * ms, so moving an "empty at" timestamp forward by 0.025 ms per token (40 tokens/ms) rounded every step and
 * over-admitted about one token in 250.
 */
export class MemoryTokenBucketStore implements TokenBucketStore {
  // NaN until the first grant: the bucket is full.
  private level = NaN;
  private at = 0;

  /** @inheritDoc */
  take(tokens: number, nowMs: number, bucket: TokenBucketSpec): TakeResult {
    const held = this.held(nowMs, bucket);
    const missingMs = (tokens - held) * bucket.msPerToken;
    if (missingMs <= EPSILON_MS) {
      this.level = held - tokens;
      this.at = nowMs;
      return GRANTED;
    }
    return { granted: false, waitMs: Math.max(1, Math.ceil(missingMs - EPSILON_MS)) };
  }

  /** @inheritDoc */
  peek(nowMs: number, bucket: TokenBucketSpec): number {
    const held = this.held(nowMs, bucket);
    if (held >= bucket.capacity) return bucket.capacity;
    // Rounded so 1000/3-ms refills read as whole tokens, not 0.9999999.
    return held > 0 ? Math.round(held * 1e9) / 1e9 : 0;
  }

  /** @inheritDoc */
  reset(): void {
    this.level = NaN;
    this.at = 0;
  }

  private held(nowMs: number, bucket: TokenBucketSpec): number {
    if (Number.isNaN(this.level)) return bucket.capacity;
    // A clock that steps back refills nothing (and takes nothing back), and refills again from where it stands
    // now: counting from the old time would refill nothing until the clock caught up with it.
    if (nowMs < this.at) this.at = nowMs;
    return Math.min(bucket.capacity, this.level + (nowMs - this.at) / bucket.msPerToken);
  }
}
