import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import { toError } from '../../core/sleep.js';

/** Where a limited run pulls its items from. Arrays are read by index; other sources are iterated lazily. */
export type ItemSource<I> = Iterable<I> | AsyncIterable<I>;

/** Starts the work for one item. `abort` is the run's shared abort (its signal is created on first read). */
export type ItemStarter<I, R> = (item: I, abort: LazyAbort) => R | PromiseLike<R>;

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
 * The engine shared by gatherWithLimit and mapWithLimit. It is a pump, not a set of worker loops: fill()
 * starts items while a slot is free, and each task's completion calls fill() again. Measured, that costs less
 * per task than `limit` async workers each awaiting in a loop, and it lets one code path serve arrays, lazy
 * iterables and async iterables (whose pulls are serialised: an async iterator need not support overlapping
 * next() calls).
 *
 * The run is its own call context and its own lazy abort, so starting a task allocates nothing: the
 * AbortController exists only once a task declares a signal parameter or calls currentSignal().
 */
export abstract class LimitedRun<I, R> extends LazyAbort implements CallContext {
  /** The outer try number, so currentAttempt() inside a task reports the enclosing retry's. */
  readonly attempt: number;
  /** Set once the run has completed or stopped: no task starts, late outcomes are ignored. */
  protected ended = false;
  /** Tasks started so far; also the index of the next one. */
  protected started = 0;
  private running = 0;
  private sourceDone = false;
  private pulling = false;
  private filling = false;
  private readonly array: readonly I[] | undefined;
  private iterator: Iterator<I> | AsyncIterator<I> | undefined;
  private readonly isAsync: boolean;
  private readonly source: ItemSource<I>;

  constructor(
    source: ItemSource<I>,
    private readonly start: ItemStarter<I, R>,
    readonly limit: number,
    private readonly outerSignal: AbortSignal | undefined,
  ) {
    const outer = activeContext();
    // Inside a policy (a timeout, say), the tasks' signal also aborts when the enclosing call's does.
    super(outer?.cancellation);
    this.attempt = outer?.attempt ?? 1;
    this.source = source;
    this.array = Array.isArray(source) ? (source as readonly I[]) : undefined;
    this.isAsync =
      this.array === undefined &&
      typeof (source as Partial<AsyncIterable<I>>)[Symbol.asyncIterator] === 'function';
    if (outerSignal !== undefined && !outerSignal.aborted)
      outerSignal.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** The run is the context its tasks see: `currentSignal()` reads this abort. */
  get cancellation(): LazyAbort {
    return this;
  }

  /** Whether one more task may start beyond the concurrency limit's own check (a consumer's window). */
  protected abstract hasRoom(): boolean;
  /** A task fulfilled (only called while the run has not ended). */
  protected abstract onValue(index: number, value: R): void;
  /** A task rejected or threw (only called while the run has not ended). */
  protected abstract onError(index: number, error: unknown): void;
  /** Every item was pulled and every task settled. */
  protected abstract onComplete(): void;
  /** The run stopped early with `error`: a task failed, the outer signal aborted, or the source threw. */
  protected abstract onStop(error: unknown): void;

  /** An error when `item` cannot be started (the run then stops with it), else undefined. */
  protected invalid(_item: I, _index: number): Error | undefined {
    return undefined;
  }

  /** Starts the run: stops at once when the outer signal is already aborted, else starts the first tasks. */
  begin(): void {
    if (this.outerSignal?.aborted) this.stop(toError(this.outerSignal.reason));
    else this.fill();
  }

  /** Starts tasks while a slot is free and the source has items; completes the run when all is done. */
  protected fill(): void {
    // A task that throws synchronously completes inside launch(): re-entering here would recurse once per
    // such task, so the outer loop picks up the freed slot instead.
    if (this.filling) return;
    this.filling = true;
    while (!this.ended && !this.sourceDone && this.running < this.limit && this.hasRoom()) {
      if (this.parent !== undefined && this.parent.aborted) {
        this.stop(toError(this.parent.reason));
        break;
      }
      if (this.array !== undefined) {
        if (this.started < this.array.length) this.launch(this.array[this.started]);
        else this.sourceDone = true;
      } else if (!this.isAsync) {
        this.pullSync();
      } else {
        if (!this.pulling) this.pullAsync();
        break;
      }
    }
    this.filling = false;
    if (!this.ended && this.sourceDone && this.running === 0 && !this.pulling) {
      this.ended = true;
      this.detach();
      this.release();
      this.onComplete();
    }
  }

  /** Ends the run early: no task starts, the shared abort aborts with `error`, the source is closed. */
  protected stop(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.detach();
    this.abort(error);
    this.closeSource();
    this.onStop(error);
  }

  private launch(item: I): void {
    const index = this.started++;
    const problem = this.invalid(item, index);
    if (problem !== undefined) {
      this.stop(problem);
      return;
    }
    this.running++;
    void this.runTask(index, item);
  }

  private async runTask(index: number, item: I): Promise<void> {
    try {
      const value = await runInContext(this, this.startItem, item);
      if (!this.ended) this.onValue(index, value);
    } catch (error) {
      // After the run ended, a late rejection is absorbed here: it is never unhandled.
      if (!this.ended) this.onError(index, error);
    }
    this.running--;
    this.fill();
  }

  private readonly startItem = (item: I): R | PromiseLike<R> => this.start(item, this);

  private pullSync(): void {
    let step: IteratorResult<I>;
    try {
      this.iterator ??= (this.source as Iterable<I>)[Symbol.iterator]();
      step = (this.iterator as Iterator<I>).next();
    } catch (error) {
      this.sourceDone = true;
      this.stop(error);
      return;
    }
    if (step.done) this.sourceDone = true;
    else this.launch(step.value);
  }

  private pullAsync(): void {
    // The pending pull holds a slot: the source is never more than `limit` items ahead of finished tasks.
    if (this.running + 1 > this.limit) return;
    let pending: PromiseLike<IteratorResult<I>>;
    try {
      this.iterator ??= (this.source as AsyncIterable<I>)[Symbol.asyncIterator]();
      pending = (this.iterator as AsyncIterator<I>).next();
    } catch (error) {
      this.sourceDone = true;
      this.stop(error);
      return;
    }
    this.pulling = true;
    this.running++;
    Promise.resolve(pending).then(this.onPulled, this.onPullFailed);
  }

  private readonly onPulled = (step: IteratorResult<I>): void => {
    this.pulling = false;
    this.running--;
    if (this.ended) return;
    if (step.done) this.sourceDone = true;
    else this.launch(step.value);
    this.fill();
  };

  private readonly onPullFailed = (error: unknown): void => {
    this.pulling = false;
    this.running--;
    this.sourceDone = true;
    this.stop(error);
  };

  private readonly onOuterAbort = (): void => {
    this.stop(toError(this.outerSignal!.reason));
  };

  private detach(): void {
    this.outerSignal?.removeEventListener('abort', this.onOuterAbort);
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
