import { now } from '../../core/clock.js';

/** The shape of a budget, handed to its store with every decision so a store keeps only counts. */
export interface RetryBudgetSpec {
  /** Retries allowed per first try over the window. */
  readonly ratio: number;
  /** Retries allowed per second of window whatever the traffic: what a quiet service may always spend. */
  readonly minPerSecond: number;
  /** The window, in ms. */
  readonly windowMs: number;
  /** How many buckets the window is kept in. */
  readonly buckets: number;
}

/** What a budget reports over its window. */
export interface RetryBudgetMetrics {
  /** First tries recorded over the window. */
  readonly requests: number;
  /** Retries made over the window. */
  readonly retries: number;
  /** Retries that may still be made now (0 when the budget is empty). */
  readonly available: number;
}

/**
 * Where a {@link RetryBudget} keeps its counts. The in-memory store answers at once; a store shared by a fleet
 * (`dspu/redis`) answers withdrawals with promises and reports the fleet's counts as last seen.
 */
export interface RetryBudgetStore {
  /** Records a first try. Called on every call's happy path: it must be a counter increment, never I/O. */
  deposit(): void;
  /** Takes one retry from the budget when it holds one: true when the retry may be made. */
  withdraw(spec: RetryBudgetSpec): boolean | PromiseLike<boolean>;
  /** The counts over the window, as this process knows them now. */
  metrics(spec: RetryBudgetSpec): RetryBudgetMetrics;
  /**
   * Called once by the `RetryBudget` the store serves, with its shape, before any other call: a store that
   * needs the shape before its first withdrawal (for a fallback of its own) takes it here.
   * @throws ConfigError when the store already serves a budget of another shape
   */
  attach?(spec: RetryBudgetSpec): void;
  /**
   * Forgets every count, as if new: what the budget's `reset()` asks of a store that can. A store shared by a
   * fleet leaves this out: its counts are the fleet's.
   */
  clear?(): void;
}

/**
 * Retries a window of `spec` allows, given its first tries and retries: the arithmetic every
 * {@link RetryBudgetStore} answers by (ratio × first tries + the reserve, to 9 decimal places, less the retries).
 */
export function budgetAvailable(spec: RetryBudgetSpec, requests: number, retries: number): number {
  const allowance = spec.ratio * requests + (spec.minPerSecond * spec.windowMs) / 1000;
  // To 9 decimal places: binary fractions make a whole allowance fall just short of itself (0.29 × 100 =
  // 28.999999999999996), which would refuse its last retry.
  return Math.round(allowance * 1e9) / 1e9 - retries;
}

/*
 * Deposits are counted without reading the clock (a clock read costs as much as the rest of a retry's happy
 * path) and credited to the current bucket at the next withdrawal, metrics read, or every CREDIT_EVERY deposits.
 * A deposit is therefore credited at most that many deposits late: the budget may count up to CREDIT_EVERY
 * first tries as more recent than they were, which moves its allowance by at most ratio × CREDIT_EVERY retries.
 */
const CREDIT_EVERY = 64;

/**
 * The default store: this process's counts, in `spec.buckets` buckets that rotate lazily as time passes (no
 * timer), O(1) per call and no allocation after construction.
 */
export class MemoryRetryBudgetStore implements RetryBudgetStore {
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  // The slot of the current bucket, and the number of that bucket since the epoch (time / bucket span).
  private head = 0;
  private headIndex = -Infinity;
  private totalRequests = 0;
  private totalRetries = 0;
  // Deposits not credited to a bucket yet.
  private uncredited = 0;

  /** @param spec - the budget's shape: its window and bucket count never change */
  constructor(private readonly spec: RetryBudgetSpec) {
    this.requests = new Float64Array(spec.buckets);
    this.retries = new Float64Array(spec.buckets);
  }

  /** @inheritDoc */
  deposit(): void {
    if (++this.uncredited === CREDIT_EVERY) this.credit(now());
  }

  /** @inheritDoc */
  withdraw(): boolean {
    this.credit(now());
    if (budgetAvailable(this.spec, this.totalRequests, this.totalRetries) < 1) return false;
    this.retries[this.head]++;
    this.totalRetries++;
    return true;
  }

  /** @inheritDoc */
  metrics(): RetryBudgetMetrics {
    this.credit(now());
    const available = budgetAvailable(this.spec, this.totalRequests, this.totalRetries);
    return {
      requests: this.totalRequests,
      retries: this.totalRetries,
      available: Math.max(0, Math.floor(available)),
    };
  }

  /** Forgets every count: the budget starts again as if new. */
  clear(): void {
    this.requests.fill(0);
    this.retries.fill(0);
    this.totalRequests = this.totalRetries = this.uncredited = 0;
    this.headIndex = -Infinity;
  }

  private credit(time: number): void {
    this.rotate(time);
    if (this.uncredited === 0) return;
    this.requests[this.head] += this.uncredited;
    this.totalRequests += this.uncredited;
    this.uncredited = 0;
  }

  /** Moves the head to the bucket of `time`, emptying the buckets it passes (all of them after a long pause). */
  private rotate(time: number): void {
    const { buckets, windowMs } = this.spec;
    const index = Math.floor(time / (windowMs / buckets));
    if (index <= this.headIndex) {
      // A clock that went back stays in the current bucket, which now stands for the new time: the window goes
      // on sliding from there instead of standing still until the clock catches up.
      this.headIndex = index;
      return;
    }
    const steps = Math.min(index - this.headIndex, buckets);
    for (let i = 0; i < steps; i++) {
      this.head = this.head + 1 === buckets ? 0 : this.head + 1;
      this.totalRequests -= this.requests[this.head];
      this.totalRetries -= this.retries[this.head];
      this.requests[this.head] = 0;
      this.retries[this.head] = 0;
    }
    this.headIndex = index;
  }
}
