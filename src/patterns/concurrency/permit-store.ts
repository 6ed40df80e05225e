/**
 * Where a {@link ConcurrencyLimiter} takes its permits from. The limiter keeps its own FIFO of waiters and
 * asks the store only whether a permit is free, so a store shared between processes (the Redis store of
 * `dspu/redis`) can replace the in-memory one without touching the queueing logic.
 * @internal
 */
export interface PermitStore {
  /** How many permits are held now. */
  readonly active: number;
  /** Takes a permit if one is free; never waits. */
  tryAcquire(): boolean;
  /** Gives back a permit taken with {@link PermitStore.tryAcquire}. */
  release(): void;
}

/** Permits of one process: a counter. @internal */
export class LocalPermitStore implements PermitStore {
  active = 0;

  constructor(private readonly limit: number) {}

  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  release(): void {
    if (this.active > 0) this.active--;
  }
}
