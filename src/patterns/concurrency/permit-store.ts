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

/** A permit of a `ConcurrencyLimiter`: give it back with `release()` or let `using` dispose of it. */
export interface Permit extends Disposable, AsyncDisposable {
  /** Gives the permit back (to the next waiter, if any). Releasing twice does nothing. */
  release(): void;
}

/** The permit handed out by `acquire()`: releases once, however often it is released or disposed. @internal */
export class HeldPermit implements Permit {
  private held = true;

  constructor(private readonly giveBack: () => void) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.giveBack();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
