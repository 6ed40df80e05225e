/**
 * Where a {@link ConcurrencyLimiter} takes its permits from. The limiter keeps the FIFO of waiters, `maxQueue`,
 * `maxWait`, signals and events; the store only says whether a permit is free. The in-memory store is a counter
 * that answers at once; a store shared by several processes (the Redis one of `dspu/redis`) answers with
 * promises, and tells the limiter through `watch` when a permit may have been freed elsewhere.
 *
 * @typeParam Ticket - what identifies a taken permit to the store (a lease id, say)
 */
export interface PermitStore<Ticket = unknown> {
  /** Permits taken through this store and not given back yet. */
  readonly active: number;
  /**
   * Takes a permit if one is free: its ticket, or `undefined` when none is. Never waits for a permit to free.
   * A shared store may answer with a promise, which rejects when the store cannot answer (the waiting call then
   * rejects with that error).
   */
  take(): Ticket | undefined | PromiseLike<Ticket | undefined>;
  /**
   * Gives back a permit taken with {@link PermitStore.take}; the limiter calls it once per ticket. To a store
   * that `measures`, it says how the work under the permit ended (nothing for a permit of `acquire()`, whose
   * work the limiter does not see, or for work whose caller gave up on it).
   */
  give(ticket: Ticket, outcome?: PermitOutcome): void;
  /** True for a store that learns from how work ends (an adaptive limit): the limiter then reports outcomes. */
  readonly measures?: boolean;
  /**
   * Registers the limiter's wake-up: a store whose permits can be freed outside this process calls `wake` when
   * one may have been (a release elsewhere, a lease that ran out), and the limiter asks again for its head.
   */
  watch?(wake: () => void): void;
  /**
   * Forgets every permit handed out (and whatever the store learned), as if new: what the limiter's `reset()`
   * asks of a store that can. A store shared by a fleet leaves this out: its permits are not this process's.
   */
  reset?(): void;
}

/** How the work under a permit ended: it succeeded, or failed with `error`. */
export type PermitOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/** The outcome of every success: shared, so reporting one allocates nothing. */
export const SUCCEEDED: PermitOutcome = Object.freeze({ ok: true });

/** Permits of one process: a counter, answering at once. */
export class LocalPermitStore implements PermitStore<true> {
  active = 0;

  /** @param limit - how many permits there are */
  constructor(private readonly limit: number) {}

  /** @inheritDoc */
  take(): true | undefined {
    if (this.active >= this.limit) return undefined;
    this.active++;
    return true;
  }

  /** @inheritDoc */
  give(): void {
    if (this.active > 0) this.active--;
  }

  /** @inheritDoc */
  reset(): void {
    this.active = 0;
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
