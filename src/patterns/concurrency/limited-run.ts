import { onAbort } from '../../core/abort-listener.js';
import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import { toError } from '../../core/errors.js';

/** Where a limited run pulls its items from. Arrays are read by index; other sources are iterated lazily. */
export type ItemSource<I> = Iterable<I> | AsyncIterable<I>;

/**
 * Starts the work for one item. It runs with the run as the current context, so `currentSignal()` gives the
 * run's shared signal (created on that first read).
 */
export type ItemStarter<I, R> = (item: I) => R | PromiseLike<R>;

/** True when `value` can be iterated with `for await` (async or sync iterable). */
export function isItemSource(value: unknown): value is ItemSource<unknown> {
  if (value === null || value === undefined) return false;
  const candidate = value as Partial<Record<symbol, unknown>>;
  return (
    typeof candidate[Symbol.iterator] === 'function' ||
    typeof candidate[Symbol.asyncIterator] === 'function'
  );
}

/*
 * The engine shared by gatherWithLimit and mapWithLimit: up to `limit` worker loops, each taking the next item,
 * starting it and awaiting it: one await per task is all the run adds (cheaper than an async call per task,
 * bench/README.md). A worker holds at
 * most one item, so the source is never more than `limit` items ahead of finished tasks; pulls from an async
 * iterator are serialised, since an async iterator need not support overlapping next() calls.
 *
 * The run is its own call context and its own lazy abort, so starting a task allocates nothing: the
 * AbortController exists only once a task declares a signal parameter or calls currentSignal().
 */
export abstract class LimitedRun<I, R> extends LazyAbort implements CallContext {
  /** The outer try number, so currentAttempt() inside a task reports the enclosing retry's. */
  readonly attempt: number;
  /** Set once the run has completed or stopped: no task starts, late outcomes are ignored. */
  protected ended = false;
  /** Items taken from the source so far; also the index of the next one. */
  protected started = 0;
  /** Results handed to the consumer so far (streaming only: a gather takes none). */
  protected taken = 0;
  private workers = 0;
  private sourceDone = false;
  private readonly array: readonly I[] | undefined;
  private readonly isAsync: boolean;
  private iterator: Iterator<I> | AsyncIterator<I> | undefined;
  private lastPull: Promise<IteratorResult<I> | undefined> | undefined;
  // Stops listening to the outer signal, once listening began.
  private unlinkOuter: (() => void) | undefined;
  // Workers waiting for room in the window, oldest first from `nextToWake` (an array read by index: O(1)).
  private readonly waitingForRoom: (() => void)[] = [];
  private nextToWake = 0;

  constructor(
    private readonly source: ItemSource<I>,
    private readonly start: ItemStarter<I, R>,
    readonly limit: number,
    private readonly outerSignal: AbortSignal | undefined,
    /** How many started tasks may be untaken at once; Infinity when results are not consumed one by one. */
    private readonly window: number,
    /** When given, each pulled item must be a function, else the run stops with this error. */
    private readonly notAFunction: ((item: unknown, index: number) => Error) | undefined,
  ) {
    const outer = activeContext();
    // Inside a policy (a timeout, say), the tasks' signal also aborts when the enclosing call's does.
    super(outer?.cancellation);
    this.attempt = outer?.attempt ?? 1;
    this.array = Array.isArray(source) ? (source as readonly I[]) : undefined;
    this.isAsync =
      this.array === undefined &&
      typeof (source as Partial<AsyncIterable<I>>)[Symbol.asyncIterator] === 'function';
  }

  /** The run is the context its tasks see: `currentSignal()` reads this abort. */
  get cancellation(): LazyAbort {
    return this;
  }

  /** A task fulfilled (only called while the run has not ended). */
  protected abstract onValue(index: number, value: R): void;
  /** A task rejected or threw (only called while the run has not ended). */
  protected abstract onError(index: number, error: unknown): void;
  /** Every item was pulled and every task settled. */
  protected abstract onComplete(): void;
  /** The run stopped early with `error`: a task failed, the outer signal aborted, or the source threw. */
  protected abstract onStop(error: unknown): void;

  /** Starts the run: stops at once when the outer signal is already aborted, else starts the workers. */
  begin(): void {
    const outerSignal = this.outerSignal;
    if (outerSignal?.aborted) {
      this.stop(toError(outerSignal.reason));
      return;
    }
    // Listening starts here, not in the constructor: a stream closed before its first read never begins.
    if (outerSignal !== undefined) this.unlinkOuter = onAbort(outerSignal, this.onOuterAbort);
    if (this.isAsync) {
      this.spawn(); // more join as items arrive, so a short stream never has `limit` idle workers
      return;
    }
    // Each worker takes its first item before spawn() returns: this stops at the end of a short source.
    while (!this.ended && !this.sourceDone && this.workers < this.limit) this.spawn();
  }

  /** A result was handed to the consumer: one worker waiting for room in the window may go on. */
  protected tookOne(): void {
    this.taken++;
    // Waking one, not all: the others would only find the window full again.
    if (this.nextToWake < this.waitingForRoom.length) this.waitingForRoom[this.nextToWake++]();
  }

  /** Ends the run early: no task starts, the shared abort aborts with `error`, the source is closed. */
  protected stop(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.detach();
    this.abort(error);
    this.closeSource();
    this.wakeWorkers();
    this.onStop(error);
  }

  private spawn(): void {
    this.workers++;
    void (this.array !== undefined && this.window === Infinity
      ? this.workArray(this.array)
      : this.work());
  }

  /** The worker loop for the common case, an array gathered: no window, no pulls. */
  private async workArray(array: readonly I[]): Promise<void> {
    try {
      while (!this.ended) {
        const index = this.started;
        if (index >= array.length) {
          this.sourceDone = true;
          return;
        }
        if (this.parent !== undefined && this.parent.aborted) {
          this.stop(toError(this.parent.reason));
          return;
        }
        this.started = index + 1;
        try {
          const value = await runInContext(this, this.start, array[index]);
          if (!this.ended) this.onValue(index, value);
        } catch (error) {
          if (!this.ended) this.onError(index, error);
        }
      }
    } finally {
      if (--this.workers === 0 && !this.ended) this.complete();
    }
  }

  private async work(): Promise<void> {
    try {
      while (!this.ended) {
        if (this.started - this.taken >= this.window) {
          await this.roomToStart();
          continue;
        }
        if (this.parent !== undefined && this.parent.aborted) {
          this.stop(toError(this.parent.reason));
          return;
        }
        if (this.array !== undefined && this.started >= this.array.length) {
          this.sourceDone = true;
          return;
        }
        // The place in the window is taken before the pull is awaited: a worker that checked for room and
        // then waited for the source would otherwise let others pass the same check, and more than `window`
        // results would be left untaken. Pulls resolve in the order they were asked for, so indices match.
        const index = this.started++;
        let item: I;
        if (this.array !== undefined) {
          item = this.array[index];
        } else {
          const step = this.isAsync ? await this.pullAsync() : this.pullSync();
          if (step === undefined || this.ended) {
            this.started--; // the source had no item for this place; every later pull finds none either
            return;
          }
          item = step.value;
          if (this.isAsync && this.workers < this.limit && !this.sourceDone) this.spawn();
        }
        if (this.notAFunction !== undefined && typeof item !== 'function') {
          this.stop(this.notAFunction(item, index));
          return;
        }
        try {
          const value = await runInContext(this, this.start, item);
          if (!this.ended) this.onValue(index, value);
        } catch (error) {
          // After the run ended, a late rejection is absorbed here: it is never unhandled.
          if (!this.ended) this.onError(index, error);
        }
      }
    } finally {
      if (--this.workers === 0 && !this.ended) this.complete();
    }
  }

  private complete(): void {
    this.ended = true;
    this.detach();
    this.release();
    this.onComplete();
  }

  /** The next item of a sync iterator, or undefined when it is exhausted or threw (the run then stops). */
  private pullSync(): IteratorYieldResult<I> | undefined {
    if (this.sourceDone) return undefined;
    try {
      this.iterator ??= (this.source as Iterable<I>)[Symbol.iterator]();
      const step = (this.iterator as Iterator<I>).next();
      if (!step.done) return step;
    } catch (error) {
      return this.sourceEnded(error, true);
    }
    return this.sourceEnded();
  }

  // The source is exhausted, or threw: then the run stops with its error.
  private sourceEnded(error?: unknown, threw = false): undefined {
    this.sourceDone = true;
    if (threw) this.stop(error);
    return undefined;
  }

  /** Like {@link LimitedRun.pullSync}, one pull at a time: each waits for the one before it. */
  private pullAsync(): Promise<IteratorYieldResult<I> | undefined> {
    const previous = this.lastPull ?? Promise.resolve(undefined);
    const pull = previous.then(this.pullOnce);
    this.lastPull = pull;
    return pull;
  }

  private readonly pullOnce = async (): Promise<IteratorYieldResult<I> | undefined> => {
    if (this.ended || this.sourceDone) return undefined;
    try {
      this.iterator ??= (this.source as AsyncIterable<I>)[Symbol.asyncIterator]();
      const step = await (this.iterator as AsyncIterator<I>).next();
      if (!step.done) return step;
    } catch (error) {
      return this.sourceEnded(error, true);
    }
    return this.sourceEnded();
  };

  private roomToStart(): Promise<void> {
    if (this.nextToWake === this.waitingForRoom.length) {
      this.waitingForRoom.length = 0;
      this.nextToWake = 0;
    }
    return new Promise((resolve) => this.waitingForRoom.push(resolve));
  }

  private wakeWorkers(): void {
    const waiting = this.waitingForRoom;
    for (let i = this.nextToWake; i < waiting.length; i++) waiting[i]();
    waiting.length = 0;
    this.nextToWake = 0;
  }

  private readonly onOuterAbort = (): void => {
    this.stop(toError(this.outerSignal!.reason));
  };

  private detach(): void {
    this.unlinkOuter?.();
  }

  /** Lets a generator source run its `finally` blocks: it will not be pulled again. */
  private closeSource(): void {
    const iterator = this.iterator;
    if (iterator === undefined || this.sourceDone || typeof iterator.return !== 'function') return;
    this.sourceDone = true;
    try {
      const closing = iterator.return() as unknown;
      if (closing instanceof Promise) closing.catch(() => undefined);
    } catch {
      // A source that fails to close must not hide the error that stopped the run.
    }
  }
}
