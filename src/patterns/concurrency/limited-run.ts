import { onAbort } from '../../core/abort-listener.js';
import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import { describeValue, toError } from '../../core/errors.js';
import { isThenable } from '../../core/thenable.js';
import { ignore } from '../../core/ignore.js';

/** Where a limited run pulls its items from. Arrays are read by index; other sources are iterated lazily. */
export type ItemSource<I> = Iterable<I> | AsyncIterable<I>;

/**
 * Starts the work for one item. It runs with the run as the current context, so `currentSignal()` gives the
 * run's shared signal (created on that first read).
 */
export type ItemStarter<I, R> = (item: I) => R | PromiseLike<R>;

/** True when `value` can be iterated with `for await` (async or sync iterable). Never throws. */
export function isItemSource(value: unknown): value is ItemSource<unknown> {
  if (value === null || value === undefined) return false;
  const candidate = value as Partial<Record<symbol, unknown>>;
  try {
    return (
      typeof candidate[Symbol.iterator] === 'function' ||
      typeof candidate[Symbol.asyncIterator] === 'function'
    );
  } catch {
    return false; // a revoked Proxy, a trap that throws: the caller's ConfigError describes it
  }
}

/** What a pull found when the source had no item: it ended, or it threw and the run stopped. */
const NO_ITEM: unique symbol = Symbol('no item');

/*
 * The engine shared by gatherWithLimit and mapWithLimit: up to `limit` worker loops, each taking the next item,
 * starting it and awaiting it: one await per task is all the run adds (cheaper than an async call per task,
 * bench/README.md). A worker holds at most one item, so the source is never more than `limit` items ahead of
 * finished tasks.
 *
 * One worker at a time takes the next item (it holds the turn): an async iterator need not support
 * overlapping next() calls, and a worker that would only queue behind another parks instead. A parked worker
 * is handed the turn when the one holding it has its item; a new worker joins only when none is parked, so
 * there are never more workers than tasks running plus one taking the next item: a huge limit over a stream
 * that the consumer keeps up with costs a few workers, not one per item.
 *
 * The run is its own call context and its own lazy abort, so starting a task allocates nothing: the
 * AbortController exists only once a task declares a signal parameter or calls currentSignal(). It listens to
 * the enclosing call's abort (a timeout, withSignal) as it does to `options.signal`: either stops it at once.
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
  /**
   * Settles once the source has run its cleanup after the run closed it (undefined when there was nothing
   * to wait for: see {@link LimitedRun.closeSource}). Never rejects.
   */
  protected sourceClosed: Promise<void> | undefined;
  private workers = 0;
  private sourceDone = false;
  private readonly array: readonly I[] | undefined;
  private readonly isAsync: boolean;
  private iterator: Iterator<I> | AsyncIterator<I> | undefined;
  /** A worker holds the turn: it is taking the next item, or has been woken to take it. */
  private turnTaken = false;
  /** The source's next() while the worker holding the turn awaits it. */
  private answer: Promise<IteratorResult<I>> | undefined;
  // Stops listening to the outer signal, once listening began.
  private unlinkOuter: (() => void) | undefined;
  // Parked workers, woken with `true` when handed the turn, with `false` when they should end. A stack: any
  // worker may take the next item, and push/pop keep it as short as the workers parked now.
  private readonly parked: ((turn: boolean) => void)[] = [];

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
  /** The run stopped early with `error`: a task failed, a signal aborted, or the source threw. */
  protected abstract onStop(error: unknown): void;

  /**
   * Starts the run: stops at once when the outer signal or the enclosing call has already aborted, else
   * listens to both and starts the workers.
   */
  begin(): void {
    const aborted = this.abortedOutside();
    if (aborted !== undefined) {
      this.stop(aborted);
      return;
    }
    const outerSignal = this.outerSignal;
    const parent = this.parent;
    // Listening starts here, not in the constructor: a stream closed before its first read never begins.
    if (outerSignal !== undefined) this.unlinkOuter = onAbort(outerSignal, this.onOuterAbort);
    // The enclosing call's abort, as other engines hear it: through its signal (released with this abort).
    if (parent !== undefined)
      this.watch(parent instanceof LazyAbort ? parent.signal : parent, this.onParentAbort);
    if (this.isAsync) {
      this.spawn(); // more join as items arrive, so a short stream never has `limit` idle workers
      return;
    }
    // Each worker takes its first item before spawn() returns: this stops at the end of a short source.
    while (!this.ended && !this.sourceDone && this.workers < this.limit) this.spawn();
  }

  /**
   * The reason `options.signal` or the enclosing call aborted with, once either has: the run hears of it at
   * once while it runs, and a consumer asks after it has completed.
   */
  protected abortedOutside(): Error | undefined {
    const outerSignal = this.outerSignal;
    if (outerSignal?.aborted) return toError(outerSignal.reason);
    const parent = this.parent;
    return parent?.aborted ? toError(parent.reason) : undefined;
  }

  /** A result was handed to the consumer: a worker may take the next item in its place in the window. */
  protected tookOne(): void {
    this.taken++;
    this.handTurn();
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

  /** The worker loop for the common case, an array gathered: no window, no pulls, no turn. */
  private async workArray(array: readonly I[]): Promise<void> {
    try {
      while (!this.ended) {
        const index = this.started;
        if (index >= array.length) {
          this.sourceDone = true;
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
    let handed = false; // this worker was woken with the turn
    try {
      while (!this.ended && !this.sourceDone) {
        if (!handed && (this.turnTaken || this.started - this.taken >= this.window)) {
          handed = await this.park();
          continue;
        }
        handed = false;
        this.turnTaken = true;
        // The place in the window is taken before the pull is awaited: pulls are one at a time, so indices
        // follow the source's order.
        const index = this.started++;
        let item: I;
        if (this.array !== undefined) {
          if (index >= this.array.length) {
            this.started--;
            this.sourceEnded();
            return;
          }
          item = this.array[index];
        } else {
          const pulled = this.isAsync ? await this.pullAsync() : this.pullSync();
          if (pulled === NO_ITEM || this.ended) {
            this.started--; // the source had no item for this place; every later pull finds none either
            return;
          }
          item = pulled;
        }
        if (this.notAFunction !== undefined && typeof item !== 'function') {
          this.stop(this.notAFunction(item, index));
          return;
        }
        this.turnTaken = false;
        this.handTurn();
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

  /**
   * The next item may be taken (the turn is free and the window has room): a parked worker takes it, or,
   * from an async source, a new worker when none is parked (a sync source's workers all start in begin()).
   */
  private handTurn(): void {
    if (this.turnTaken || this.ended || this.sourceDone || this.started - this.taken >= this.window)
      return;
    const wake = this.parked.pop();
    if (wake !== undefined) {
      this.turnTaken = true;
      wake(true);
    } else if (this.isAsync && this.workers < this.limit) this.spawn();
  }

  private complete(): void {
    this.ended = true;
    this.detach();
    this.release();
    this.onComplete();
  }

  /** The next item of a sync iterator, or NO_ITEM when it is exhausted or threw (the run then stops). */
  private pullSync(): I | typeof NO_ITEM {
    try {
      this.iterator ??= (this.source as Iterable<I>)[Symbol.iterator]();
      return this.itemOf((this.iterator as Iterator<I>).next());
    } catch (error) {
      return this.sourceEnded(error, true);
    }
  }

  /** Like {@link LimitedRun.pullSync}, for an async iterator; only the worker holding the turn calls it. */
  private async pullAsync(): Promise<I | typeof NO_ITEM> {
    try {
      this.iterator ??= (this.source as AsyncIterable<I>)[Symbol.asyncIterator]();
      const answer = (this.answer = (this.iterator as AsyncIterator<I>).next());
      const step = await answer;
      this.answer = undefined;
      return this.itemOf(step);
    } catch (error) {
      this.answer = undefined;
      return this.sourceEnded(error, true);
    }
  }

  /**
   * The item of an iterator result, or NO_ITEM at the end. Reads `done` and `value` once each, as `for await`
   * does, and refuses a result that is not an object as it does: the caller's catch stops the run.
   */
  private itemOf(step: IteratorResult<I>): I | typeof NO_ITEM {
    if (typeof step !== 'object' || step === null)
      throw new TypeError(`Iterator result ${describeValue(step)} is not an object`);
    return step.done ? this.sourceEnded() : step.value;
  }

  // The source is exhausted, or threw: then the run stops with its error. Parked workers have nothing to take.
  private sourceEnded(error?: unknown, threw = false): typeof NO_ITEM {
    this.sourceDone = true;
    if (threw) this.stop(error);
    else this.wakeWorkers();
    return NO_ITEM;
  }

  private park(): Promise<boolean> {
    return new Promise((resolve) => this.parked.push(resolve));
  }

  /** Wakes every parked worker to end: the run is over, or the source has nothing more. */
  private wakeWorkers(): void {
    const parked = this.parked;
    while (parked.length > 0) parked.pop()!(false);
  }

  private readonly onOuterAbort = (): void => {
    this.stop(toError(this.outerSignal!.reason));
  };

  private readonly onParentAbort = (): void => {
    this.stop(toError(this.parent!.reason));
  };

  private detach(): void {
    this.unlinkOuter?.();
  }

  /**
   * Lets the source run its `finally` blocks: it will not be pulled again. {@link LimitedRun.sourceClosed}
   * waits for an async source's cleanup unless the source has yet to answer a next(): its return() would then
   * wait for that item, which may never come (a queue waiting for messages), so the source closes when it
   * answers and no one waits for that.
   */
  private closeSource(): void {
    const iterator = this.iterator;
    if (iterator === undefined || this.sourceDone) return;
    this.sourceDone = true;
    try {
      // Read once, inside the try: a getter that throws is a source that fails to close.
      const close = (iterator as { return?: unknown }).return;
      if (typeof close !== 'function') return;
      const closing: unknown = close.call(iterator);
      if (!isThenable(closing)) return;
      const closed = Promise.resolve(closing).then(ignore, ignore);
      const answer = this.answer;
      this.sourceClosed =
        answer === undefined
          ? closed
          : hasSettled(answer).then((answered) => (answered ? closed : undefined));
    } catch {
      // A source that fails to close must not hide the error that stopped the run.
    }
  }
}

const NOT_YET: unique symbol = Symbol('not yet');

// Whether `promise` had settled when asked: a settled promise's reaction is queued before the one of the
// promise raced after it. (A source's answer that is on its way to the worker counts as given.)
function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise, Promise.resolve(NOT_YET)]).then(
    (value) => value !== NOT_YET,
    () => true,
  );
}
